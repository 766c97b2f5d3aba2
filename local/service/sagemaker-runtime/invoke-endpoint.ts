/**
 * SageMaker Runtime (REST JSON): `POST /endpoints/{EndpointName}/invocations` (InvokeEndpoint) and
 * `POST /endpoints/{EndpointName}/invocations-response-stream` (InvokeEndpointWithResponseStream). Both route by
 * variant weight (or the `X-Amzn-SageMaker-Target-Variant` header), between blue and green fleets during an update,
 * proxy to the instance's `/invocations`, and record Invocations, 4xx/5xx and ModelLatency per fleet variant. A non-2xx
 * answer from the model becomes a `ModelError` (HTTP 424) with OriginalStatusCode and OriginalMessage, as on AWS; the
 * streaming operation relays a 2xx answer as event-stream `PayloadPart`s (see invoke-stream.ts).
 */
import http from 'node:http';
import { ACCOUNT_ID } from '../../shared/account';
import type { Ctx } from '../core/context';
import type { Endpoints } from '../sagemaker/endpoints';
import type { Fleet } from '../sagemaker/fleet';
import { AwsError, requestId, sendError } from '../core/protocol';
import { relayStream } from './invoke-stream';
import { containerUnreachable, elapsedUs, modelError, type Target } from './target';

const REST_JSON = 'application/json';

export class Runtime {
  constructor(
    private readonly ctx: Ctx,
    private readonly eps: Endpoints,
  ) {}

  /** InvokeEndpoint (its request has passed the model check): the model's whole answer in one response. */
  async invoke(endpointName: string, body: Buffer, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = this.route(endpointName, req, res);
    if (!target) return;
    const { variant, instance } = target;
    const started = process.hrtime.bigint();
    let answer: { status: number; headers: http.IncomingHttpHeaders; body: Buffer };
    try {
      answer = await forward(instance.port, body, containerHeaders(req, header(req, 'accept')));
    } catch (err) {
      target.record(500, elapsedUs(started));
      return sendError(res, containerUnreachable(variant, err as Error), REST_JSON);
    }
    const latencyUs = elapsedUs(started);
    target.record(answer.status, latencyUs);
    if (answer.status < 200 || answer.status >= 300) {
      this.ctx.log(
        `invoke ${endpointName}/${variant.spec.VariantName} ${answer.status} ${Math.round(latencyUs / 1000)} ms ` +
          `(ModelError to the caller)`,
      );
      return sendError(res, modelError(endpointName, answer.status, answer.body), REST_JSON);
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

  /** InvokeEndpointWithResponseStream (request checked): the model's answer relayed part by part as it arrives. */
  async invokeStream(
    endpointName: string,
    body: Buffer,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    const target = this.route(endpointName, req, res);
    if (!target) return;
    // The streaming operation carries Accept in its own header (botocore's model: X-Amzn-SageMaker-Accept).
    await relayStream(this.ctx, target, body, containerHeaders(req, header(req, 'x-amzn-sagemaker-accept')), res);
  }

  /** Picks the variant and instance; answers the error itself (and returns undefined) when it cannot. */
  private route(endpointName: string, req: http.IncomingMessage, res: http.ServerResponse): Target | undefined {
    const record = this.eps.endpoints.get(endpointName);
    if (!record) {
      sendError(
        res,
        new AwsError('ValidationError', `Endpoint ${endpointName} of account ${ACCOUNT_ID} not found.`),
        REST_JSON,
      );
      return undefined;
    }
    const route = this.eps.routes.get(endpointName);
    const targetVariant = header(req, 'x-amzn-sagemaker-target-variant');
    let fleet: Fleet | undefined = route?.blue;
    if (route?.green && route.greenShare > 0 && Math.random() < route.greenShare) fleet = route.green;
    const picked = fleet?.pick(targetVariant);
    if (!fleet || !picked) {
      if (targetVariant && fleet && !fleet.variants.some((variant) => variant.spec.VariantName === targetVariant)) {
        sendError(
          res,
          new AwsError('ValidationError', `Variant ${targetVariant} not found for endpoint ${endpointName}.`),
          REST_JSON,
        );
        return undefined;
      }
      sendError(
        res,
        new AwsError(
          'ValidationError',
          `Endpoint ${endpointName} is not ready to serve requests (status ${record.EndpointStatus}).`,
        ),
        REST_JSON,
      );
      return undefined;
    }
    const { variant, instance } = picked;
    const publisher = this.eps.publisher;
    const target: Target = {
      endpointName,
      variant,
      instance,
      record: (status, latencyUs) => {
        const ev = { t: Date.now(), status, latencyUs };
        variant.metrics.record(ev);
        publisher.record(endpointName, variant.spec.VariantName, ev);
      },
    };
    return target;
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** What the container receives: Content-Type, Accept and the custom attributes, nothing else of the caller's. */
function containerHeaders(req: http.IncomingMessage, accept: string | undefined): Record<string, string> {
  const custom = header(req, 'x-amzn-sagemaker-custom-attributes');
  return {
    'content-type': header(req, 'content-type') ?? 'application/json',
    accept: accept ?? '*/*',
    ...(custom ? { 'x-amzn-sagemaker-custom-attributes': custom } : {}),
  };
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
