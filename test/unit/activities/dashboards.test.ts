/** The endpoint dashboard: PutDashboard of its body (an upsert), DeleteDashboards with the endpoint. */
import {
  CloudWatchClient,
  DeleteDashboardsCommand,
  PutDashboardCommand,
  type PutDashboardCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { createDashboardActivities, deleteEndpointDashboard } from '../../../activities/dashboards';
import type { EnsureEndpointDashboardInput } from '../../../contracts/deploy-model';
import { awsError, expectFailure, testDeps, throttled } from './helpers';

const cw = mockClient(CloudWatchClient);
const deps = testDeps();
const acts = createDashboardActivities(deps);

const input: EnsureEndpointDashboardInput = {
  endpointName: 'jax-lm',
  endpointConfigName: 'run-2-epc-22222222',
  instanceType: 'ml.g5.xlarge',
  instanceCount: 2,
  rollback: { max5xxErrors: 5, maxModelLatencyMs: 800, periodSeconds: 120, extraAlarmNames: ['ops-latency'] },
  autoscaling: {
    enabled: true,
    minCapacity: 2,
    maxCapacity: 6,
    targetInvocationsPerInstance: 100,
    scaleInCooldownSeconds: 300,
    scaleOutCooldownSeconds: 60,
  },
};

interface MetricWidget {
  type: string;
  properties: {
    title?: string;
    region?: string;
    period?: number;
    metrics?: unknown[][];
    annotations?: { horizontal: { value: number }[] };
    markdown?: string;
  };
}

function sentBody(): { widgets: MetricWidget[] } {
  const call = cw.commandCalls(PutDashboardCommand)[0];
  expect(call).toBeDefined();
  return JSON.parse((call!.args[0].input as PutDashboardCommandInput).DashboardBody ?? '') as {
    widgets: MetricWidget[];
  };
}

/** [metric name, dimensions as a map] of every metric a widget plots. */
function plotted(w: MetricWidget): [string, Record<string, string>][] {
  return (w.properties.metrics ?? []).map((m) => {
    const dims: Record<string, string> = {};
    for (let i = 2; i + 1 < m.length && typeof m[i] === 'string'; i += 2) dims[m[i] as string] = m[i + 1] as string;
    return [m[1] as string, dims];
  });
}

beforeEach(() => cw.reset());

describe('ensureEndpointDashboard', () => {
  it("puts the endpoint's dashboard under its name, with the region of the worker's clients", async () => {
    cw.on(PutDashboardCommand).resolves({});
    await expect(acts.ensureEndpointDashboard(input)).resolves.toEqual({ dashboardName: 'sagemaker-endpoint-jax-lm' });
    expect(cw).toHaveReceivedCommandWith(PutDashboardCommand, { DashboardName: 'sagemaker-endpoint-jax-lm' });
    const metrics = sentBody().widgets.filter((w) => w.type === 'metric');
    expect(metrics.every((w) => w.properties.region === 'us-east-1')).toBe(true);
  });

  it('plots invocations, model latency and 4xx/5xx of the endpoint', async () => {
    cw.on(PutDashboardCommand).resolves({});
    await acts.ensureEndpointDashboard(input);
    const all = sentBody().widgets.flatMap(plotted);
    const endpointWide = { EndpointName: 'jax-lm', VariantName: 'AllTraffic' };
    for (const name of ['Invocations', 'ModelLatency', 'Invocation4XXErrors', 'Invocation5XXErrors'])
      expect(all).toContainEqual([name, endpointWide]);
  });

  it("plots what each rollback alarm watches (the new config's fleet) with the alarm's threshold", async () => {
    cw.on(PutDashboardCommand).resolves({});
    await acts.ensureEndpointDashboard(input);
    const widgets = sentBody().widgets;
    const fleet = { EndpointName: 'jax-lm', VariantName: 'AllTraffic', EndpointConfigName: 'run-2-epc-22222222' };
    const errors = widgets.find((w) => w.properties.title === 'Rollback alarm run-2-epc-22222222-rollback-5xx');
    expect(errors && plotted(errors)).toEqual([['Invocation5XXErrors', fleet]]);
    expect(errors?.properties.annotations?.horizontal[0]?.value).toBe(5);
    expect(errors?.properties.period).toBe(120);
    const latency = widgets.find(
      (w) => w.properties.title === 'Rollback alarm run-2-epc-22222222-rollback-model-latency',
    );
    expect(latency && plotted(latency)).toEqual([['ModelLatency', fleet]]);
    expect(latency?.properties.annotations?.horizontal[0]?.value).toBe(800_000); // microseconds, like the alarm
  });

  it('states the fleet (SageMaker has no instance-count metric): count, type and autoscaling range', async () => {
    cw.on(PutDashboardCommand).resolves({});
    await acts.ensureEndpointDashboard(input);
    const text = sentBody().widgets.find((w) => w.type === 'text')?.properties.markdown ?? '';
    expect(text).toContain('2 x ml.g5.xlarge');
    expect(text).toContain('autoscaling 2-6 instances');
    expect(text).toContain('ops-latency');
  });

  it('keeps every widget on the 24-column grid', async () => {
    cw.on(PutDashboardCommand).resolves({});
    await acts.ensureEndpointDashboard(input);
    for (const w of sentBody().widgets as unknown as { x: number; width: number }[])
      expect(w.x + w.width).toBeLessThanOrEqual(24);
  });

  it('classifies throttling as retryable and a refused body as validation', async () => {
    cw.on(PutDashboardCommand).rejects(throttled());
    await expectFailure(acts.ensureEndpointDashboard(input), 'AwsTransient', false);
    cw.reset();
    cw.on(PutDashboardCommand).rejects(
      awsError('DashboardInvalidInputError', 400, 'The field DashboardBody must be a valid JSON object'),
    );
    await expectFailure(acts.ensureEndpointDashboard(input), 'AwsValidation', true);
  });

  it('fails a malformed input non-retryably, naming the field', async () => {
    await expectFailure(
      acts.ensureEndpointDashboard({ ...input, instanceCount: 0 }),
      'SpecInvalid',
      true,
      /instanceCount/,
    );
    expect(cw).not.toHaveReceivedCommand(PutDashboardCommand);
  });
});

describe('deleteEndpointDashboard', () => {
  it("deletes the endpoint's dashboard", async () => {
    cw.on(DeleteDashboardsCommand).resolves({});
    await expect(deleteEndpointDashboard(deps.clients.cloudwatch, 'jax-lm')).resolves.toBe(true);
    expect(cw).toHaveReceivedCommandWith(DeleteDashboardsCommand, { DashboardNames: ['sagemaker-endpoint-jax-lm'] });
  });

  it('is a no-op when there is no dashboard (safe to run twice)', async () => {
    cw.on(DeleteDashboardsCommand).rejects(
      awsError('ResourceNotFound', 404, 'The specified dashboard does not exist.'),
    );
    await expect(deleteEndpointDashboard(deps.clients.cloudwatch, 'jax-lm')).resolves.toBe(false);
  });
});
