/**
 * The local SageMaker service's HTTP server. One port speaks three AWS protocols:
 *  - SageMaker control plane: AWS JSON 1.1, `POST /` with `X-Amz-Target: SageMaker.<Operation>`;
 *  - CodeBuild: AWS JSON 1.1, `X-Amz-Target: CodeBuild_20161006.<Operation>`;
 *  - SageMaker Runtime: REST JSON, `POST /endpoints/{EndpointName}/invocations`.
 * Unknown SageMaker and CodeBuild operations answer `UnknownOperationException`, as AWS does. Every other request
 * (S3, ECR, CloudWatch, CloudWatch Logs, Application Auto Scaling, STS, IAM) goes through the gateway to moto
 * (iam/moto-gateway.ts), so one port is the whole local AWS. Every call is authorized first (LOCAL_IAM, on by
 * default): against iam/worker-policy.json for the worker, a role's policy for a job's role session.
 */
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { CodeBuild } from './codebuild/codebuild';
import { CallStats } from './core/call-stats';
import { Ctx, type ServiceOptions } from './core/context';
import { Endpoints } from './sagemaker/endpoints';
import { faultDraws, injectFault, loseAnswer, parseFaults } from './core/faults';
import { AwsError, readBody, sendError, sendJson } from './core/protocol';
import { Registry } from './sagemaker/model-registry';
import { RequestLog } from './core/request-log';
import { Runtime } from './sagemaker-runtime/invoke-endpoint';
import { Tags } from './sagemaker/tags';
import { Training } from './sagemaker/training';
import { Tuning } from './sagemaker/tuning';
import type { Body } from './core/request-fields';
import { sendRefusal, type Refusal } from './iam/denial';
import { MotoGateway } from './iam/moto-gateway';
import type { Reading } from './iam/request-reading';

export type Handler = (body: Body) => unknown;

export interface LocalService {
  url: string;
  port: number;
  ctx: Ctx;
  training: Training;
  endpoints: Endpoints;
  close(): Promise<void>;
}

export async function startLocalService(
  opts: ServiceOptions & { port?: number; host?: string },
): Promise<LocalService> {
  const ctx = new Ctx(opts);
  const tags = new Tags(ctx);
  const training = new Training(ctx, tags);
  const endpoints = new Endpoints(ctx, tags);
  const runtime = new Runtime(ctx, endpoints);
  const tuning = new Tuning(ctx, tags, training);
  const registry = new Registry(ctx, tags);
  const codebuild = new CodeBuild(ctx);
  const sagemaker: Record<string, Handler> = {
    ...tags.handlers(),
    ...training.handlers(),
    ...endpoints.handlers(),
    ...tuning.handlers(),
    ...registry.handlers(),
  };
  const codebuildOps: Record<string, Handler> = codebuild.handlers();
  const faults = parseFaults(opts.faults ?? process.env.LOCAL_FAULTS);
  const draw = faultDraws(faults);
  const requests = new RequestLog(path.join(opts.stateDir, 'requests.log'));
  const stats = new CallStats(ctx.store);
  /** Tags of the resources this service keeps, for aws:ResourceTag/* conditions. */
  const resourceTags = (arn: string): Record<string, string> | undefined => {
    if (arn.startsWith('arn:aws:codebuild:')) return codebuild.tagsOf(arn);
    const t = tags.get(arn);
    return t.length ? Object.fromEntries(t.map((x) => [x.Key, x.Value])) : undefined;
  };
  const gateway = new MotoGateway(opts.motoEndpoint, ctx.iam, (m) => ctx.log(m), resourceTags);
  /** AWS's refusal of a call this service serves, if IAM would refuse it (logged). */
  async function refusal(req: http.IncomingMessage, reading: Reading): Promise<Refusal | undefined> {
    if (!ctx.iam) return undefined;
    const raw = { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers };
    const refused = await ctx.iam.authorizeRequest(raw, reading, resourceTags);
    if (refused) ctx.log(`IAM: refused ${reading.label}: ${refused.reason}`);
    return refused?.response;
  }

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: Error) => {
      ctx.log(`request failed: ${err.stack ?? err.message}`);
      if (!res.headersSent) sendError(res, new AwsError('InternalFailure', err.message, 500));
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url === '/_local/health') return sendJson(res, 200, { ok: true }, 'application/json');
    if (req.method === 'GET' && url === '/_local/stats')
      return sendJson(res, 200, stats.snapshot(), 'application/json');
    if (req.method === 'GET' && url === '/_local/iam')
      return sendJson(res, 200, { enabled: Boolean(ctx.iam), ...ctx.iam?.stats() }, 'application/json');
    const agent = /^\/_local\/codebuild\/agent\/([^/]+)\/([a-z]+)$/.exec(url);
    if (agent) return codebuild.agent(req, res, decodeURIComponent(agent[1] as string), agent[2] as string);
    const invoke = /^\/endpoints\/([^/]+)\/invocations(\?.*)?$/.exec(url);
    if (invoke && req.method === 'POST') {
      // Runtime faults too (off by default): callers of InvokeEndpoint must retry throttling like any AWS client.
      const fault = injectFault(faults, draw);
      if (fault) {
        await readBody(req).catch(() => undefined);
        stats.record('Runtime.InvokeEndpoint', fault);
        return sendError(res, fault, 'application/json');
      }
      const endpointName = decodeURIComponent(invoke[1] as string);
      const refused = await refusal(req, {
        protocol: 'rest-json',
        label: 'sagemaker:InvokeEndpoint',
        call: { prefix: 'sagemaker', operation: 'InvokeEndpoint', body: { EndpointName: endpointName } },
        contentType: 'application/json',
      });
      if (refused) {
        await readBody(req).catch(() => undefined);
        stats.record('Runtime.InvokeEndpoint', 'error');
        return sendRefusal(res, refused);
      }
      await runtime.invoke(endpointName, req, res);
      stats.record('Runtime.InvokeEndpoint', res.statusCode < 400 ? 'ok' : 'error');
      return;
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const [service, op] = target.split('.', 2);
    const table = service === 'SageMaker' ? sagemaker : service === 'CodeBuild_20161006' ? codebuildOps : undefined;
    if (!table) return gateway.handle(req, res);
    if (req.method !== 'POST' || !op) {
      await readBody(req).catch(() => undefined);
      return sendError(
        res,
        new AwsError(
          'UnknownOperationException',
          `No route for ${req.method} ${url} (X-Amz-Target: ${target || 'none'})`,
          400,
        ),
      );
    }
    const fn = table[op];
    if (!fn)
      return sendError(
        res,
        new AwsError(
          'UnknownOperationException',
          `Operation ${op} is not supported by the local ${service} service`,
          400,
        ),
      );
    let body: Body = {};
    const arrived = Date.now();
    res.once('finish', () => requests.record(arrived, target, body, res.statusCode));
    try {
      const raw = await readBody(req);
      body = raw.length ? (JSON.parse(raw.toString('utf8')) as Body) : {};
    } catch (err) {
      return sendError(
        res,
        err instanceof AwsError
          ? err
          : new AwsError('SerializationException', 'Could not parse the request body as JSON', 400),
      );
    }
    const counted = `${service === 'SageMaker' ? 'SageMaker' : 'CodeBuild'}.${op}`;
    const prefix = service === 'SageMaker' ? 'sagemaker' : 'codebuild';
    const refused = await refusal(req, {
      protocol: 'json',
      label: `${prefix}:${op}`,
      call: { prefix, operation: op, body },
    });
    if (refused) {
      stats.record(counted, 'error');
      return sendRefusal(res, refused);
    }
    const fault = injectFault(faults, draw);
    if (fault) {
      stats.record(counted, fault);
      return sendError(res, fault);
    }
    try {
      const out = await fn(body);
      stats.record(counted, 'ok');
      const lost = loseAnswer(faults, draw);
      if (lost) {
        stats.record(counted, 'lost');
        return sendError(res, lost);
      }
      sendJson(res, 200, out ?? {});
    } catch (err) {
      stats.record(counted, 'error');
      if (err instanceof AwsError) return sendError(res, err);
      throw err;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  // Jobs act through this port (role sessions): it must be known before any of them resumes.
  ctx.selfUrl = `http://127.0.0.1:${port}`;

  // Processes of an earlier incarnation may still run (the service was killed hard): the stack kills them from
  // the pid files; then we pick up where the state says we were.
  training.resume();
  endpoints.resume();
  tuning.resume();
  codebuild.resume();
  endpoints.startMetrics();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    ctx,
    training,
    endpoints,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      tuning.shutdown();
      stats.close();
      await Promise.all([training.shutdown(), endpoints.shutdown(), codebuild.shutdown()]);
      await ctx.logs.close();
      await requests.close();
      gateway.close();
    },
  };
}
