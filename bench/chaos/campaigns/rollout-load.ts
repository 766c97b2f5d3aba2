/**
 * Rollout under load: steady, bounded loopback traffic at a local endpoint through a good blue/green update (CANARY,
 * then blue retired) and through an update to a model that fails every request, which the 5xx alarm rolls back.
 * Failures are split into "failed by the bad model" (the bad green fleet's own 500s, by design) and "failed by the
 * rollout mechanics" (anything else: connection errors, 5xx from blue, errors while fleets switch). Target: zero of
 * the latter, and the bad update rolled back to the good config.
 */
import { PutMetricAlarmCommand, CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  SageMakerClient,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { workerEnv } from '../../../local/stack/config';
import { sleep, waitUntil } from '../../../local/shared/procs';
import { down, up } from '../../../local/stack/launcher';
import { isolatedStackConfig, TEST_ROLES_FILE } from '../../../testing/isolated-stack';
import { ADMIN_CREDENTIALS } from '../../../local/shared/credentials';
import { writeResult } from '../../lib/results';
import { LoadClient, ms, quantile, type Sample } from '../lib/load-client';
import { CONTAINER_BIN } from '../../../testing/local-harness';
import { badModelTarball, packModel, trainTinyModel } from '../lib/tiny-model';
import type { Command } from 'commander';
import { positiveNumber } from '../../../worker/command-line';

export const about =
  'steady traffic through a blue/green update and a rolled-back bad update: zero failures caused by the rollout';

const ENDPOINT = 'chaos-rollout';
const BUCKET = 'chaos-rollout';
const ROLE = 'arn:aws:iam::123456789012:role/SageMakerRole';
const ALARM = `${ENDPOINT}-green-5xx`;

/** How one request ended, for the table. */
export type Outcome = 'ok' | 'bad-model' | 'mechanics';

/**
 * A 2xx is ok. While the bad model is deployed (`badPhase`), a ModelError (424) carrying the model's own 500 is the
 * bad green fleet failing by design; every other failure is the rollout mechanics' fault (the good model never 500s).
 */
export function classify(s: Pick<Sample, 'status' | 'body'>, badPhase: boolean): Outcome {
  if (s.status >= 200 && s.status < 300) return 'ok';
  if (badPhase && s.status === 424) {
    try {
      if ((JSON.parse(s.body) as { OriginalStatusCode?: number }).OriginalStatusCode === 500) return 'bad-model';
    } catch {
      /* not the runtime's ModelError shape */
    }
  }
  return 'mechanics';
}

/** The campaign's options. */
export function options(cmd: Command): Command {
  return cmd
    .option('--rate <per-second>', 'requests per second', positiveNumber, 20)
    .option('--concurrency <n>', 'requests in flight at most', positiveNumber, 8)
    .option('--steady-s <seconds>', 'seconds of steady load before each rollout', positiveNumber, 15)
    .option('--keep', 'keep the stack and its state dir afterwards', false);
}

export async function run(opts: { rate: number; concurrency: number; steadyS: number; keep: boolean }): Promise<void> {
  const { rate, concurrency, steadyS, keep } = opts;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-rollout-work-'));
  console.log(`[rollout] training the tiny model in ${work}`);
  const good = packModel(trainTinyModel(work), path.join(work, 'model.tar.gz'));
  const bad = badModelTarball(work);

  // The service inherits this environment: injected faults would be failures the rollout did not cause.
  delete process.env.LOCAL_FAULTS;
  const cfg = await isolatedStackConfig('chaos-rollout', CONTAINER_BIN);
  const env = workerEnv(cfg);
  // The campaign sets up and observes as the administrator; its endpoint runs as a test role (LOCAL_IAM_ROLES).
  const credentials = ADMIN_CREDENTIALS;
  process.env.LOCAL_IAM_ROLES = TEST_ROLES_FILE;
  const region = env.AWS_REGION as string;
  const sm = new SageMakerClient({ endpoint: env.AWS_ENDPOINT_URL_SAGEMAKER, region, credentials });
  const s3 = new S3Client({ endpoint: env.AWS_ENDPOINT_URL_S3, region, credentials, forcePathStyle: true });
  const cw = new CloudWatchClient({ endpoint: env.AWS_ENDPOINT_URL_CLOUDWATCH, region, credentials });
  let load: LoadClient | undefined;
  let failed = true;
  try {
    await up(cfg, (m) => console.log(`[stack] ${m}`));
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (const [key, file] of [
      ['good/model.tar.gz', good],
      ['bad/model.tar.gz', bad],
    ] as const)
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: fs.readFileSync(file) }));
    for (const [m, key] of [
      ['v1', 'good'],
      ['v2', 'good'],
      ['bad', 'bad'],
    ] as const) {
      await sm.send(
        new CreateModelCommand({
          ModelName: `${ENDPOINT}-${m}`,
          ExecutionRoleArn: ROLE,
          PrimaryContainer: { Image: 'jax:latest', ModelDataUrl: `s3://${BUCKET}/${key}/model.tar.gz` },
        }),
      );
      await sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: `${ENDPOINT}-${m}`,
          ProductionVariants: [
            {
              VariantName: 'AllTraffic',
              ModelName: `${ENDPOINT}-${m}`,
              InitialInstanceCount: 1,
              InstanceType: 'ml.m5.large',
            },
          ],
        }),
      );
    }
    // The pipeline's new-fleet 5xx alarm (activities/alarms.ts), with a threshold of zero errors.
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: ALARM,
        Namespace: 'AWS/SageMaker',
        MetricName: 'Invocation5XXErrors',
        Statistic: 'Sum',
        Dimensions: [
          { Name: 'EndpointName', Value: ENDPOINT },
          { Name: 'VariantName', Value: 'AllTraffic' },
        ],
        Period: 30,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: ENDPOINT, EndpointConfigName: `${ENDPOINT}-v1` }));
    const describe = (): Promise<DescribeEndpointCommandOutput> =>
      sm.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }));
    await waitUntil(
      async () => (await describe()).EndpointStatus !== 'Creating',
      180_000,
      'the endpoint to leave Creating',
      500,
    );
    const first = await describe();
    if (first.EndpointStatus !== 'InService')
      throw new Error(`endpoint ${first.EndpointStatus}: ${first.FailureReason}`);

    load = new LoadClient({
      url: `${env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME}/endpoints/${ENDPOINT}/invocations`,
      body: JSON.stringify({ inputs: 'The ', parameters: { max_new_tokens: 4 } }),
      ratePerSec: rate,
      concurrency,
      // Local mode's IAM reads who calls from the SigV4 credential scope (it does not verify signatures): the load
      // comes from the administrator, so IAM refuses none of it and every failure is the rollout's.
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=${ADMIN_CREDENTIALS.accessKeyId}/20260101/${region}/sagemaker/aws4_request, SignedHeaders=host, Signature=0`,
      },
    });
    load.phase = '1 steady on blue (v1)';
    load.start();
    await sleep(steadyS * 1000);

    /** Updates the endpoint and names the phases from DescribeEndpoint until it is InService again. */
    const update = async (
      config: string,
      label: string,
      waitIntervalS: number,
    ): Promise<DescribeEndpointCommandOutput> => {
      const l = load as LoadClient;
      l.phase = `${label}: green starting`;
      await sm.send(
        new UpdateEndpointCommand({
          EndpointName: ENDPOINT,
          EndpointConfigName: config,
          DeploymentConfig: {
            BlueGreenUpdatePolicy: {
              TrafficRoutingConfiguration: {
                Type: 'CANARY',
                CanarySize: { Type: 'CAPACITY_PERCENT', Value: 50 },
                WaitIntervalInSeconds: waitIntervalS,
              },
              TerminationWaitInSeconds: 5,
              MaximumExecutionTimeoutInSeconds: 900,
            },
            AutoRollbackConfiguration: { Alarms: [{ AlarmName: ALARM }] },
          },
        }),
      );
      let d = await describe();
      const deadline = Date.now() + 600_000;
      while (d.EndpointStatus !== 'InService') {
        if (Date.now() > deadline) throw new Error(`${label}: endpoint still ${d.EndpointStatus} after 10 min`);
        const vs = d.PendingDeploymentSummary?.ProductionVariants?.[0]?.VariantStatus?.[0]?.Status;
        if (d.EndpointStatus === 'RollingBack') l.phase = `${label}: rolling back`;
        else if (vs === 'ActivatingTraffic') l.phase = `${label}: traffic shifting`;
        await sleep(200);
        d = await describe();
      }
      return d;
    };

    const afterGood = await update(`${ENDPOINT}-v2`, '2 good update (v2)', 10);
    if (afterGood.EndpointConfigName !== `${ENDPOINT}-v2`)
      throw new Error(
        `the good update did not complete: config ${afterGood.EndpointConfigName}, ${afterGood.FailureReason}`,
      );
    load.phase = '3 after, blue retired (v2)';
    await sleep(steadyS * 1000);

    const afterBad = await update(`${ENDPOINT}-bad`, '4 bad update', 30);
    load.phase = '5 after rollback (v2)';
    await sleep(steadyS * 1000);
    await load.stop();

    const rolledBack = afterBad.EndpointConfigName === `${ENDPOINT}-v2` && /alarm/i.test(afterBad.FailureReason ?? '');
    const phases = [...new Set(load.samples.map((s) => s.phase))];
    const rows = phases.map((p) => {
      const ss = load?.samples.filter((s) => s.phase === p) ?? [];
      const badPhase = p.startsWith('4 ');
      const outcomes = ss.map((s) => classify(s, badPhase));
      const okLat = ss.filter((_, i) => outcomes[i] === 'ok').map((s) => s.latencyMs);
      return [
        p,
        ss.length,
        outcomes.filter((o) => o === 'ok').length,
        outcomes.filter((o) => o === 'bad-model').length,
        outcomes.filter((o) => o === 'mechanics').length,
        load?.saturated.get(p) ?? 0,
        ms(quantile(okLat, 0.5)),
        ms(quantile(okLat, 0.99)),
      ];
    });
    const mechanics = load.samples.filter((s) => classify(s, s.phase.startsWith('4 ')) === 'mechanics');
    const examples = [
      ...new Set(mechanics.map((s) => `${s.phase}: ${s.status} ${s.error ?? s.body.slice(0, 200)}`)),
    ].slice(0, 5);
    writeResult({
      name: 'chaos-rollout-load',
      title: 'Chaos: rollout under load',
      command: `npm run chaos -- rollout-load --rate ${rate} --concurrency ${concurrency} --steady-s ${steadyS}`,
      columns: [
        'phase',
        'sent',
        'ok',
        'failed by the bad model',
        'failed by the rollout mechanics',
        'client-saturated ticks',
        'p50 ms (ok)',
        'p99 ms (ok)',
      ],
      rows,
      notes: [
        `Traffic: InvokeEndpoint as plain HTTP to the local SageMaker Runtime (loopback), ${rate} req/s, at ` +
          `most ${concurrency} in flight, \`{"inputs": "The ", "parameters": {"max_new_tokens": 4}}\` to a tiny ` +
          `trained LM (1 layer, d_model 64) served by real \`serve\` processes, 1 instance per fleet. Both ` +
          `updates: blue/green CANARY 50 %, termination wait 5 s, rollback alarm \`${ALARM}\` (Invocation5XXErrors ` +
          `Sum > 0 over 30 s); wait interval 10 s (good) and 30 s (bad).`,
        `Phases are named from DescribeEndpoint (PendingDeploymentSummary variant status, RollingBack) as the ` +
          `client sent each request. "Failed by the bad model" = a ModelError (424) carrying the model's own 500 ` +
          `while the bad config was deployed; "failed by the rollout mechanics" = every other failure (connection ` +
          `errors, 5xx from blue, "not ready" while fleets switch). A client-saturated tick is a send skipped ` +
          `because ${concurrency} requests were already in flight. Phases come from polling DescribeEndpoint every ` +
          `200 ms, so a request sent at a boundary can carry the previous phase's name (a bad-model failure under ` +
          `"green starting" is one of those); the classification does not depend on the phase name except for "4 ` +
          `bad update" as a whole.`,
        `Bad update: ${rolledBack ? 'rolled back' : 'NOT rolled back'}; endpoint ${afterBad.EndpointStatus} on ` +
          `${afterBad.EndpointConfigName}; FailureReason: ${afterBad.FailureReason ?? '(none)'}`,
        mechanics.length
          ? `Mechanics failures (first distinct): ${examples.join(' | ')}`
          : 'No request failed because of the rollout mechanics.',
        'Latencies include the local runtime proxy; the machine is shared (2 cores), so read them as relative ' +
          'between phases.',
      ],
    });
    failed = mechanics.length > 0 || !rolledBack;
    if (mechanics.length > 0)
      throw new Error(
        `${mechanics.length} request(s) failed because of the rollout mechanics (target 0): ${examples.join(' | ')}`,
      );
    if (!rolledBack)
      throw new Error(
        `the bad update was not rolled back by ${ALARM}: endpoint on ${afterBad.EndpointConfigName}, ` +
          `FailureReason ${afterBad.FailureReason}`,
      );
  } finally {
    if (load) await load.stop().catch(() => undefined);
    await down(cfg, (m) => console.log(`[stack] ${m}`));
    if (keep || failed) console.log(`[rollout] state kept in ${cfg.stateDir} (logs under logs/ and sagemaker/logs/)`);
    else fs.rmSync(cfg.stateDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
}
