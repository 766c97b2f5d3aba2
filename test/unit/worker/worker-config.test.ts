import {
  ConfigError,
  DEFAULT_MAX_CACHED_WORKFLOWS,
  loadConfig,
  loadTemporalConfig,
  workerCapacityOptions,
  workerShutdownOptions,
} from '../../../worker/config';

describe('worker configuration', () => {
  it('defaults to a local Temporal and the project task queue', () => {
    const c = loadConfig({ AWS_REGION: 'us-east-1' });
    expect(c.temporal).toMatchObject({
      address: 'localhost:7233',
      namespace: 'default',
      taskQueue: 'sagemaker-pipeline',
    });
    expect(c.awsRegion).toBe('us-east-1');
  });

  it('accepts Temporal Cloud settings', () => {
    expect(
      loadConfig({ AWS_REGION: 'eu-west-1', TEMPORAL_API_KEY: 'k', TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233' })
        .temporal.apiKey,
    ).toBe('k');
    expect(
      loadConfig({ AWS_DEFAULT_REGION: 'eu-west-1', TEMPORAL_TLS_CERT_PATH: 'c.pem', TEMPORAL_TLS_KEY_PATH: 'k.pem' })
        .temporal.tls,
    ).toEqual({ certPath: 'c.pem', keyPath: 'k.pem' });
  });

  it('names every bad variable in one readable error', () => {
    let message = '';
    try {
      loadConfig({ TEMPORAL_TLS_CERT_PATH: 'c.pem', TEMPORAL_ADDRESS: ' ' });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/TEMPORAL_ADDRESS/);
    expect(message).toMatch(/TEMPORAL_TLS_KEY_PATH: set both/);
    expect(message).toMatch(/AWS_REGION: required/);
  });

  it('gives the worker room for 1,000 waiting pipelines (each wait holds one activity slot), and the setting is adjustable', () => {
    expect(
      workerCapacityOptions(loadConfig({ AWS_REGION: 'us-east-1' })).maxConcurrentActivityTaskExecutions,
    ).toBeGreaterThanOrEqual(1000);
    expect(
      loadConfig({ AWS_REGION: 'us-east-1', WORKER_MAX_CONCURRENT_ACTIVITIES: '5000' }).maxConcurrentActivities,
    ).toBe(5000);
    expect(() => loadConfig({ AWS_REGION: 'us-east-1', WORKER_MAX_CONCURRENT_ACTIVITIES: 'lots' })).toThrow(
      /WORKER_MAX_CONCURRENT_ACTIVITIES/,
    );
    expect(() => loadConfig({ AWS_REGION: 'us-east-1', WORKER_MAX_CONCURRENT_ACTIVITIES: '0' })).toThrow(
      /WORKER_MAX_CONCURRENT_ACTIVITIES/,
    );
  });

  it('keeps fewer workflow runs cached than 1,000 waiting pipelines hold, and the setting is adjustable', () => {
    // 1,000 waiting pipelines are 2,000 runs (each pipeline and its training step); the SDK's own default here is
    // about 2,400 (from V8's heap limit), which cached them all and held the worker past 1 GiB.
    const options = workerCapacityOptions(loadConfig({ AWS_REGION: 'us-east-1' }));
    expect(options.maxCachedWorkflows).toBeLessThan(2000);
    expect(options.maxCachedWorkflows).toBe(DEFAULT_MAX_CACHED_WORKFLOWS);
    expect(
      workerCapacityOptions(loadConfig({ AWS_REGION: 'us-east-1', WORKER_MAX_CACHED_WORKFLOWS: '3000' }))
        .maxCachedWorkflows,
    ).toBe(3000);
    // The SDK takes 0 (no cache) or at least 2; anything else is refused at start, naming the variable.
    expect(loadConfig({ AWS_REGION: 'us-east-1', WORKER_MAX_CACHED_WORKFLOWS: '0' }).maxCachedWorkflows).toBe(0);
    for (const bad of ['1', 'many', '-5', '2.5'])
      expect(() => loadConfig({ AWS_REGION: 'us-east-1', WORKER_MAX_CACHED_WORKFLOWS: bad })).toThrow(
        /WORKER_MAX_CACHED_WORKFLOWS/,
      );
  });

  it("lets in-flight activities finish for a grace period under the orchestrators' 30 s before SIGKILL", () => {
    expect(workerShutdownOptions(loadConfig({ AWS_REGION: 'us-east-1' }))).toEqual({
      shutdownGraceTime: 20_000,
      shutdownForceTime: 25_000,
    });
    expect(loadConfig({ AWS_REGION: 'us-east-1', WORKER_SHUTDOWN_GRACE_SECONDS: '90' }).shutdownGraceSeconds).toBe(90);
    expect(() => loadConfig({ AWS_REGION: 'us-east-1', WORKER_SHUTDOWN_GRACE_SECONDS: '-1' })).toThrow(
      /WORKER_SHUTDOWN_GRACE_SECONDS/,
    );
  });

  it('serves liveness only when WORKER_HEALTH_PORT is set', () => {
    expect(loadConfig({ AWS_REGION: 'us-east-1' }).health).toBeUndefined();
    expect(loadConfig({ AWS_REGION: 'us-east-1', WORKER_HEALTH_PORT: '8080' }).health).toEqual({
      port: 8080,
      host: '127.0.0.1',
    });
    expect(() => loadConfig({ AWS_REGION: 'us-east-1', WORKER_HEALTH_PORT: '70000' })).toThrow(/WORKER_HEALTH_PORT/);
  });

  it('reads the worker deployment and build ID, checking their characters', () => {
    expect(loadConfig({ AWS_REGION: 'us-east-1' }).deployment).toEqual({ name: undefined, buildId: undefined });
    expect(
      loadConfig({ AWS_REGION: 'us-east-1', TEMPORAL_WORKER_DEPLOYMENT: 'prod', TEMPORAL_WORKER_BUILD_ID: 'r-42' })
        .deployment,
    ).toEqual({ name: 'prod', buildId: 'r-42' });
    expect(() => loadConfig({ AWS_REGION: 'us-east-1', TEMPORAL_WORKER_BUILD_ID: 'a:b' })).toThrow(
      /TEMPORAL_WORKER_BUILD_ID: letters, digits/,
    );
  });

  it('gives client commands the Temporal settings without asking for AWS', () => {
    expect(loadTemporalConfig({ TEMPORAL_NAMESPACE: 'ns' }).temporal).toMatchObject({ namespace: 'ns' });
    expect(() =>
      loadTemporalConfig({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS_CERT_PATH: 'c', TEMPORAL_TLS_KEY_PATH: 'k' }),
    ).toThrow(/Invalid Temporal configuration:\nTEMPORAL_API_KEY: use either an API key or an mTLS certificate/);
  });
});
