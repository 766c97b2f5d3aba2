import { ConfigError, loadConfig } from '../../worker/config';

describe('worker configuration', () => {
  it('defaults to a local Temporal and the project task queue', () => {
    const c = loadConfig({ AWS_REGION: 'us-east-1' });
    expect(c.temporal).toMatchObject({ address: 'localhost:7233', namespace: 'default', taskQueue: 'sagemaker-pipeline' });
    expect(c.awsRegion).toBe('us-east-1');
  });

  it('accepts Temporal Cloud settings', () => {
    expect(loadConfig({ AWS_REGION: 'eu-west-1', TEMPORAL_API_KEY: 'k', TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233' }).temporal.apiKey).toBe('k');
    expect(loadConfig({ AWS_DEFAULT_REGION: 'eu-west-1', TEMPORAL_TLS_CERT_PATH: 'c.pem', TEMPORAL_TLS_KEY_PATH: 'k.pem' }).temporal.tls).toEqual({ certPath: 'c.pem', keyPath: 'k.pem' });
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
});
