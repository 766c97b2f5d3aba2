/**
 * The local SageMaker service's HTTP server. One port speaks four AWS protocols:
 *  - SageMaker control plane: AWS JSON 1.1, `POST /` with `X-Amz-Target: SageMaker.<Operation>`;
 *  - CodeBuild: AWS JSON 1.1, `X-Amz-Target: CodeBuild_20161006.<Operation>`;
 *  - Application Auto Scaling: AWS JSON 1.1, `X-Amz-Target: AnyScaleFrontendService.<Operation>`;
 *  - Service Quotas: AWS JSON 1.1, `X-Amz-Target: ServiceQuotasV20190624.<Operation>` (service-quotas/);
 *  - SageMaker Runtime: REST JSON, `POST /endpoints/{EndpointName}/invocations` and
 *    `.../invocations-response-stream`.
 * Unknown operations of the APIs served here answer `UnknownOperationException`, as AWS does. Every other request
 * (S3, ECR, CloudWatch, CloudWatch Logs, STS, IAM) goes through the gateway to moto (iam/moto-gateway.ts), so one
 * port is the whole local AWS. Every call is authorized first (LOCAL_IAM, on by default): against
 * iam/worker-policy.json for the worker, a role's policy for a job's role session. Every request served here is then
 * checked against AWS's published model of its operation (core/model-gate.ts), and every JSON request against the
 * documented rules (core/documented-rules), before its handler runs.
 */
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ScalableTargets } from './application-autoscaling/scalable-targets';
import { TargetTracking } from './application-autoscaling/target-tracking';
import { CodeBuild } from './codebuild/codebuild';
import { CallStats } from './core/call-stats';
import { Ctx, type ServiceOptions } from './core/context';
import { Endpoints } from './sagemaker/endpoints';
import { firstRefusal, type Refused } from './core/check-order';
import { injectFault, loseAnswer } from './core/faults';
import { AwsError, readBody, sendError, sendJson } from './core/protocol';
import { Registry } from './sagemaker/model-registry';
import { enforceDocumentedRules } from './core/documented-rules';
import { ModelGate } from './core/model-gate';
import { RequestLog } from './core/request-log';
import { ruleState } from './rule-state';
import { Search } from './sagemaker/search';
import { Runtime } from './sagemaker-runtime/invoke-endpoint';
import { Tags } from './sagemaker/tags';
import { Processing } from './sagemaker/jobs/processing/processing';
import { Training } from './sagemaker/jobs/training/training';
import { Transforms } from './sagemaker/jobs/transform/transform';
import { Tuning } from './sagemaker/tuning';
import type { Body } from './core/request-fields';
import { sendRefusal, type Refusal } from './iam/denial';
import { IamEnforcer } from './iam/enforcer';
import { MotoGateway } from './iam/moto-gateway';
import { LocalIamApi } from './iam/iam-api';
import { ServiceQuotas } from './service-quotas/service-quotas';
import { iamEnabled, PolicySet } from './iam/policies';
import type { Reading } from './iam/request-reading';

export type Handler = (body: Body) => unknown;

export interface LocalService {
  url: string;
  port: number;
  ctx: Ctx;
  training: Training;
  processing: Processing;
  endpoints: Endpoints;
  scalableTargets: ScalableTargets;
  targetTracking: TargetTracking;
  close(): Promise<void>;
}

export async function startLocalService(
  opts: ServiceOptions & { port?: number; host?: string },
): Promise<LocalService> {
  // First: without AWS's models (the tools venv) the service cannot judge requests, and says so before it starts.
  const gate = new ModelGate(
    (line) => ctx.log(line),
    ['sagemaker', 'sagemaker-runtime', 'codebuild', 'application-autoscaling', 'service-quotas', 'iam', 'sts'],
  );
  // IAM as deployed: the roles `local up` deployed into moto (read once, at start).
  const iam = opts.iam ?? (iamEnabled() ? await IamEnforcer.fromDeployment(opts.motoEndpoint) : false);
  const ctx = new Ctx({ ...opts, iam });
  const tags = new Tags(ctx);
  const training = new Training(ctx, tags);
  const processing = new Processing(ctx, tags);
  const endpoints = new Endpoints(ctx, tags);
  const runtime = new Runtime(ctx, endpoints);
  const tuning = new Tuning(ctx, tags, training);
  const transforms = new Transforms(ctx, tags, (name) => endpoints.models.model(name));
  const registry = new Registry(ctx, tags);
  const search = new Search({ ...registry.searchSources(), TrainingJob: () => training.searchRecords() });
  const codebuild = new CodeBuild(ctx);
  const scalableTargets = new ScalableTargets(ctx, endpoints);
  const targetTracking = new TargetTracking(ctx, scalableTargets, endpoints);
  const rulesState = ruleState({
    ctx,
    tags,
    training,
    processing,
    tuning,
    endpoints,
    registry,
    scalableTargets,
    codebuild,
  });
  const sagemaker: Record<string, Handler> = {
    ...tags.handlers(),
    ...training.handlers(),
    ...processing.handlers(),
    ...endpoints.handlers(),
    ...tuning.handlers(),
    ...registry.handlers(),
    ...search.handlers(),
    ...transforms.handlers(),
  };
  /** The JSON APIs served here, by X-Amz-Target prefix: counters' name, IAM action prefix, botocore model, handlers. */
  const apis: Record<string, { counted: string; iamPrefix: string; model: string; handlers: Record<string, Handler> }> =
    {
      SageMaker: { counted: 'SageMaker', iamPrefix: 'sagemaker', model: 'sagemaker', handlers: sagemaker },
      CodeBuild_20161006: {
        counted: 'CodeBuild',
        iamPrefix: 'codebuild',
        model: 'codebuild',
        handlers: codebuild.handlers(),
      },
      ServiceQuotasV20190624: {
        counted: 'ServiceQuotas',
        iamPrefix: 'servicequotas',
        model: 'service-quotas',
        handlers: new ServiceQuotas().handlers(),
      },
      AnyScaleFrontendService: {
        counted: 'ApplicationAutoScaling',
        iamPrefix: 'application-autoscaling',
        model: 'application-autoscaling',
        handlers: scalableTargets.handlers(),
      },
    };
  const faults = ctx.faults;
  const draw = ctx.faultDraw;
  const requests = new RequestLog(path.join(opts.stateDir, 'requests.log'));
  const stats = new CallStats(ctx.store);
  /** Tags of the resources this service keeps, for aws:ResourceTag/* conditions. */
  const resourceTags = (arn: string): Record<string, string> | undefined => {
    if (arn.startsWith('arn:aws:codebuild:')) return codebuild.tagsOf(arn);
    const t = tags.get(arn);
    return t.length ? Object.fromEntries(t.map((tag) => [tag.Key, tag.Value])) : undefined;
  };
  // Who the callers are is local mode's to say: GetCallerIdentity, GetRole and SimulatePrincipalPolicy answer here.
  const iamApi = new LocalIamApi(ctx.iam || new IamEnforcer(PolicySet.fromDocuments()), (service, op, body) =>
    gate.query(service, op, body),
  );
  const gateway = new MotoGateway(opts.motoEndpoint, ctx.iam, (m) => ctx.log(m), resourceTags, iamApi);
  /** AWS's refusal of a call this service serves, if IAM would refuse it (logged). */
  async function refusal(req: http.IncomingMessage, reading: Reading): Promise<Refusal | undefined> {
    if (!ctx.iam) return undefined;
    const raw = { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers };
    const refused = await ctx.iam.authorizeRequest(raw, reading, resourceTags);
    if (refused) ctx.log(`IAM: refused ${reading.label}: ${refused.reason}`);
    return refused?.response;
  }

  /** Answers the first check that refused (CHECK_ORDER), counted as a fault when one was injected. */
  function answerRefusal(res: http.ServerResponse, counted: string, refused: Refused, contentType?: string): void {
    const { answer } = refused;
    stats.record(counted, refused.check === 'fault' && answer instanceof AwsError ? answer : 'error');
    if (answer instanceof AwsError) return sendError(res, answer, contentType);
    return sendRefusal(res, answer);
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
    const invoke = /^\/endpoints\/([^/]+)\/(invocations|invocations-response-stream)(\?.*)?$/.exec(url);
    if (invoke && req.method === 'POST') {
      const streamed = invoke[2] === 'invocations-response-stream';
      const op = streamed ? 'Runtime.InvokeEndpointWithResponseStream' : 'Runtime.InvokeEndpoint';
      const endpointName = decodeURIComponent(invoke[1] as string);
      const action = streamed ? 'InvokeEndpointWithResponseStream' : 'InvokeEndpoint';
      let payload: Buffer | undefined;
      const refused = await firstRefusal({
        iam: () =>
          refusal(req, {
            protocol: 'rest-json',
            label: `sagemaker:${action}`,
            call: { prefix: 'sagemaker', operation: action, body: { EndpointName: endpointName } },
            contentType: 'application/json',
          }),
        // Runtime faults too (off by default): callers of InvokeEndpoint must retry throttling like any AWS client.
        fault: () => injectFault(faults, draw),
        model: async () => {
          // Read past the model's 6 MB limit on Body, so that the model check can answer AWS's message about it.
          payload = await readBody(req, 8 * 1024 * 1024).catch(() => undefined);
          return payload
            ? gate.rest('sagemaker-runtime', action, {
                labels: { EndpointName: endpointName },
                headers: req.headers,
                query: new URLSearchParams(invoke[3]?.slice(1) ?? ''),
                body: payload,
              })
            : new AwsError(
                'ValidationError',
                "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to 6291456",
              );
        },
        // No documented rule concerns Runtime's operations.
        rules: () => undefined,
      });
      if (refused) {
        // A refusal before the model check has not read the body yet.
        if (refused.check === 'iam' || refused.check === 'fault') await readBody(req).catch(() => undefined);
        return answerRefusal(res, op, refused, 'application/json');
      }
      if (!payload) throw new Error('the model check reads the payload');
      await (streamed
        ? runtime.invokeStream(endpointName, payload, req, res)
        : runtime.invoke(endpointName, payload, req, res));
      stats.record(op, res.statusCode < 400 ? 'ok' : 'error');
      return;
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const [service, op] = target.split('.', 2);
    const api = service ? apis[service] : undefined;
    if (!api) return gateway.handle(req, res);
    const table = api.handlers;
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
    const counted = `${api.counted}.${op}`;
    const prefix = api.iamPrefix;
    const refused = await firstRefusal({
      iam: () => refusal(req, { protocol: 'json', label: `${prefix}:${op}`, call: { prefix, operation: op, body } }),
      fault: () => injectFault(faults, draw),
      model: () => gate.json(api.model, op, body),
      rules: async () => {
        await enforceDocumentedRules({ service: service as string, operation: op, body }, rulesState);
        return undefined;
      },
    });
    if (refused) return answerRefusal(res, counted, refused);
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
  processing.resume();
  endpoints.resume();
  tuning.resume();
  transforms.resume();
  codebuild.resume();
  scalableTargets.resume();
  endpoints.startMetrics();
  targetTracking.start();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    ctx,
    training,
    processing,
    endpoints,
    scalableTargets,
    targetTracking,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      tuning.shutdown();
      targetTracking.stop();
      stats.close();
      await Promise.all([
        training.shutdown(),
        processing.shutdown(),
        endpoints.shutdown(),
        codebuild.shutdown(),
        transforms.shutdown(),
      ]);
      ctx.stateEvents?.close();
      await ctx.logs.close();
      await requests.close();
      gateway.close();
    },
  };
}
