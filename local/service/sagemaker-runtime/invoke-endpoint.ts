/**
 * SageMaker Runtime: `POST /endpoints/{EndpointName}/invocations` (REST JSON). Routes by variant weight (or the
 * `X-Amzn-SageMaker-Target-Variant` header), between blue and green fleets during an update, proxies to the
 * instance's `/invocations`, and records Invocations, 4xx/5xx and ModelLatency per fleet variant. A non-2xx answer
 * from the model becomes a `ModelError` (HTTP 424) with OriginalStatusCode and OriginalMessage, as on AWS.
 */
import http from 'node:http';
import { ACCOUNT_ID, REGION } from '../../shared/account';
import type { Ctx } from '../core/context';
import type { Endpoints } from '../sagemaker/endpoints';
import type { Fleet } from '../sagemaker/fleet';
import { AwsError, requestId, sendError } from '../core/protocol';

const REST_JSON = 'application/json';

export class Runtime {
  constructor(
    private readonly ctx: Ctx,
    private readonly eps: Endpoints,
  ) {}

  /** Serves one invocation whose request (path, headers, `body`) has passed the model check. */
  async invoke(endpointName: string, body: Buffer, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const record = this.eps.endpoints.get(endpointName);
    if (!record)
      return sendError(
        res,
        new AwsError('ValidationError', `Endpoint ${endpointName} of account ${ACCOUNT_ID} not found.`),
        REST_JSON,
      );
    const route = this.eps.routes.get(endpointName);
    const target = header(req, 'x-amzn-sagemaker-target-variant');
    let fleet: Fleet | undefined = route?.blue;
    if (route?.green && route.greenShare > 0 && Math.random() < route.greenShare) fleet = route.green;
    const picked = fleet?.pick(target);
    if (!fleet || !picked) {
      if (target && fleet && !fleet.variants.some((v) => v.spec.VariantName === target)) {
        return sendError(
          res,
          new AwsError('ValidationError', `Variant ${target} not found for endpoint ${endpointName}.`),
          REST_JSON,
        );
      }
      return sendError(
        res,
        new AwsError(
          'ValidationError',
          `Endpoint ${endpointName} is not ready to serve requests (status ${record.EndpointStatus}).`,
        ),
        REST_JSON,
      );
    }
    const { variant, instance } = picked;
    const started = process.hrtime.bigint();
    let answer: { status: number; headers: http.IncomingHttpHeaders; body: Buffer };
    try {
      answer = await forward(instance.port, body, {
        'content-type': header(req, 'content-type') ?? 'application/json',
        accept: header(req, 'accept') ?? '*/*',
        ...(header(req, 'x-amzn-sagemaker-custom-attributes')
          ? { 'x-amzn-sagemaker-custom-attributes': header(req, 'x-amzn-sagemaker-custom-attributes') as string }
          : {}),
      });
    } catch (err) {
      const latencyUs = Number((process.hrtime.bigint() - started) / 1000n);
      variant.metrics.record({ t: Date.now(), status: 500, latencyUs });
      this.eps.publisher.record(endpointName, variant.spec.VariantName, { t: Date.now(), status: 500, latencyUs });
      return sendError(
        res,
        new AwsError(
          'InternalFailure',
          `The model container of variant ${variant.spec.VariantName} did not answer: ${(err as Error).message}`,
          500,
        ),
        REST_JSON,
      );
    }
    const latencyUs = Number((process.hrtime.bigint() - started) / 1000n);
    const ev = { t: Date.now(), status: answer.status, latencyUs };
    variant.metrics.record(ev);
    this.eps.publisher.record(endpointName, variant.spec.VariantName, ev);
    if (answer.status < 200 || answer.status >= 300) {
      this.ctx.log(
        `invoke ${endpointName}/${variant.spec.VariantName} ${answer.status} ${Math.round(latencyUs / 1000)} ms (ModelError to the caller)`,
      );
      const text = answer.body.toString('utf8');
      const kind = answer.status >= 500 ? 'server' : 'client';
      return sendError(
        res,
        new AwsError(
          'ModelError',
          `Received ${kind} error (${answer.status}) from primary with message "${text.slice(0, 1000)}". See https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#logEventViewer:group=/aws/sagemaker/Endpoints/${endpointName} in account ${ACCOUNT_ID} for more information.`,
          424,
          {
            OriginalStatusCode: answer.status,
            OriginalMessage: text.slice(0, 1000),
            LogStreamArn: `arn:aws:logs:${REGION}:${ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/${endpointName}`,
          },
        ),
        REST_JSON,
      );
    }
    const headers: http.OutgoingHttpHeaders = {
      'content-type': answer.headers['content-type'] ?? 'application/json',
      'content-length': answer.body.length,
      'x-amzn-invoked-production-variant': variant.spec.VariantName,
      'x-amzn-requestid': requestId(),
    };
    const custom = answer.headers['x-amzn-sagemaker-custom-attributes'];
    if (custom) headers['x-amzn-sagemaker-custom-attributes'] = custom;
    res.writeHead(200, headers);
    res.end(answer.body);
    this.ctx.log(
      `invoke ${endpointName}/${variant.spec.VariantName} ${answer.status} ${Math.round(latencyUs / 1000)} ms`,
    );
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function forward(
  port: number,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/invocations',
        headers: { ...headers, 'content-length': body.length },
        timeout: 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('the model did not answer within 60 s')));
    req.on('error', reject);
    req.end(body);
  });
}
