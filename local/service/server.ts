/**
 * The local SageMaker service's HTTP server. One port speaks three AWS protocols:
 *  - SageMaker control plane: AWS JSON 1.1, `POST /` with `X-Amz-Target: SageMaker.<Operation>`;
 *  - CodeBuild: AWS JSON 1.1, `X-Amz-Target: CodeBuild_20161006.<Operation>`;
 *  - SageMaker Runtime: REST JSON, `POST /endpoints/{EndpointName}/invocations`.
 * Unknown operations answer `UnknownOperationException`, as AWS does.
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
import { Search } from './sagemaker/search';
import { Runtime } from './sagemaker-runtime/invoke-endpoint';
import { Tags } from './sagemaker/tags';
import { Training } from './sagemaker/training';
import { Tuning } from './sagemaker/tuning';
import type { Body } from './core/request-fields';

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
  const search = new Search({ ...registry.searchSources(), TrainingJob: () => training.searchRecords() });
  const codebuild = new CodeBuild(ctx);
  const sagemaker: Record<string, Handler> = {
    ...tags.handlers(),
    ...training.handlers(),
    ...endpoints.handlers(),
    ...tuning.handlers(),
    ...registry.handlers(),
    ...search.handlers(),
  };
  const codebuildOps: Record<string, Handler> = codebuild.handlers();
  const faults = parseFaults(opts.faults ?? process.env.LOCAL_FAULTS);
  const draw = faultDraws(faults);
  const requests = new RequestLog(path.join(opts.stateDir, 'requests.log'));
  const stats = new CallStats(ctx.store);

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
    const invoke = /^\/endpoints\/([^/]+)\/invocations(\?.*)?$/.exec(url);
    if (invoke && req.method === 'POST') {
      // Runtime faults too (off by default): callers of InvokeEndpoint must retry throttling like any AWS client.
      const fault = injectFault(faults, draw);
      if (fault) {
        await readBody(req).catch(() => undefined);
        stats.record('Runtime.InvokeEndpoint', fault);
        return sendError(res, fault, 'application/json');
      }
      await runtime.invoke(decodeURIComponent(invoke[1] as string), req, res);
      stats.record('Runtime.InvokeEndpoint', res.statusCode < 400 ? 'ok' : 'error');
      return;
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const [service, op] = target.split('.', 2);
    const table = service === 'SageMaker' ? sagemaker : service === 'CodeBuild_20161006' ? codebuildOps : undefined;
    if (req.method !== 'POST' || !table || !op) {
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

  // Processes of an earlier incarnation may still run (the service was killed hard): the stack kills them from
  // the pid files; then we pick up where the state says we were.
  training.resume();
  endpoints.resume();
  tuning.resume();
  codebuild.resume();
  endpoints.startMetrics();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
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
    },
  };
}
