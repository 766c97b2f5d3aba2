/**
 * `npm run bench -- iam [--decisions 5000] [--requests 400]`: what local mode's IAM enforcement costs per request.
 * Two measures, each beside its anchor:
 *  - decision time in the service process (request mapping + @cloud-copilot/iam-simulate on iam/worker-policy.json):
 *    a new resource every call (nothing cached: an S3 sync of distinct objects), the same call again (a poll), and a
 *    CreateTrainingJob (three authorizations: the job, iam:PassRole, tag-on-create AddTags);
 *  - round trip of real SDK calls through the local service's gateway to moto with enforcement on, against the same
 *    gateway with LOCAL_IAM=off (the anchor: the difference is the enforcement) and against moto directly.
 */
import { DescribeRepositoriesCommand, ECRClient, CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IamEnforcer } from '../../local/service/iam/enforcer';
import { PolicySet } from '../../local/service/iam/policies';
import { s3Checks } from '../../local/service/iam/s3-checks';
import { startLocalService, type LocalService } from '../../local/service/server';
import { ADMIN_CREDENTIALS, WORKER_CREDENTIALS } from '../../local/shared/credentials';
import { REPO_ROOT } from '../../local/stack/config';
import type { Command } from 'commander';
import { positiveInt } from '../../worker/command-line';
import { writeResult } from '../lib/results';
import { startMoto } from './lib/moto-server';

export const about = 'per-request cost of local IAM enforcement: decision time and gateway round trip, on vs off';

const say = (m: string) => console.log(`[iam] ${m}`);
const BUCKET = 'acme-ml-pipelines';

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

interface Stat {
  n: number;
  mean: number;
  p50: number;
  p99: number;
}

function stat(samples: number[]): Stat {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length),
    p50: quantile(s, 0.5),
    p99: quantile(s, 0.99),
  };
}

/** Microseconds per call of `fn`, one sample per call. */
async function timeEach(n: number, fn: (i: number) => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    out.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return out;
}

async function decisions(n: number): Promise<(string | number)[][]> {
  const iam = new IamEnforcer(PolicySet.fromDocuments());
  const r = iam.resolve({ kind: 'worker' });
  if (r.kind !== 'caller') throw new Error('worker must resolve');
  const worker = r.caller;
  const rows: (string | number)[][] = [];
  const row = (label: string, us: number[]) => {
    const s = stat(us);
    rows.push([label, s.n, s.mean.toFixed(1), s.p50.toFixed(1), s.p99.toFixed(1)]);
  };
  // Warm the Service Authorization Reference data and the code paths once.
  await iam.denyCall(worker, {
    prefix: 'sagemaker',
    operation: 'DescribeTrainingJob',
    body: { TrainingJobName: 'warm' },
  });
  iam.deny(worker, s3Checks({ method: 'GET', url: `/${BUCKET}/pipelines/demo/warm`, headers: {} }).checks);
  row(
    'S3 GetObject, a new key each call (simulated)',
    await timeEach(n, (i) => {
      const m = s3Checks({ method: 'GET', url: `/${BUCKET}/pipelines/demo/data/train/part-${i}.txt`, headers: {} });
      if (iam.deny(worker, m.checks)) throw new Error('denied');
    }),
  );
  row(
    'DescribeTrainingJob, the same job (cached decision)',
    await timeEach(n, async () => {
      const d = await iam.denyCall(worker, {
        prefix: 'sagemaker',
        operation: 'DescribeTrainingJob',
        body: { TrainingJobName: 'job-1' },
      });
      if (d) throw new Error('denied');
    }),
  );
  row(
    'CreateTrainingJob with tags, a new name each call (3 checks)',
    await timeEach(Math.min(n, 2000), async (i) => {
      const d = await iam.denyCall(worker, {
        prefix: 'sagemaker',
        operation: 'CreateTrainingJob',
        body: {
          TrainingJobName: `job-${i}`,
          RoleArn: 'arn:aws:iam::123456789012:role/SageMakerExecutionRole',
          // An instance type on the worker policy's list (sagemaker:InstanceTypes).
          ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
          Tags: [{ Key: 'pipeline:workflow-id', Value: `wf-${i}` }],
        },
      });
      if (d) throw new Error(`denied: ${d.action}`);
    }),
  );
  const s = iam.stats();
  say(`authorizer: ${s.checks} checks, ${s.simulated} simulated, ${s.cacheHits} cached, mean ${s.meanUs} us`);
  return rows;
}

async function roundTrips(n: number, dir: string): Promise<(string | number)[][]> {
  const moto = await startMoto(dir);
  const services: LocalService[] = [];
  try {
    const start = async (iam: IamEnforcer | false, name: string) => {
      const svc = await startLocalService({
        stateDir: path.join(dir, name),
        motoEndpoint: moto.endpoint,
        containerBinDir: path.join(REPO_ROOT, 'container/.venv/bin'),
        iam,
        log: () => undefined,
      });
      services.push(svc);
      return svc;
    };
    const on = await start(new IamEnforcer(PolicySet.fromDocuments()), 'on');
    const off = await start(false, 'off');
    const admin = new S3Client({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: ADMIN_CREDENTIALS,
      forcePathStyle: true,
    });
    await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'pipelines/demo/obj', Body: 'x'.repeat(1024) }));
    await new ECRClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: ADMIN_CREDENTIALS }).send(
      new CreateRepositoryCommand({ repositoryName: 'jax-lm' }),
    );
    const targets = [
      ['moto directly', moto.endpoint],
      ['gateway, LOCAL_IAM=off', off.url],
      ['gateway, IAM enforced', on.url],
    ] as const;
    type Call = (i: number) => Promise<unknown>;
    const kinds: [string, (endpoint: string, label: string) => Call | undefined][] = [];
    const common = (endpoint: string) => ({
      endpoint,
      region: 'us-east-1',
      credentials: WORKER_CREDENTIALS,
      maxAttempts: 1,
    });
    kinds.push([
      'S3 HeadObject',
      (e) => {
        const s3 = new S3Client({ ...common(e), forcePathStyle: true });
        return () => s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'pipelines/demo/obj' }));
      },
    ]);
    kinds.push([
      'S3 PutObject 1 KiB, a new key each call',
      (e, label) => {
        const s3 = new S3Client({ ...common(e), forcePathStyle: true });
        return (i) =>
          s3.send(
            new PutObjectCommand({
              Bucket: BUCKET,
              Key: `pipelines/demo/put/${label.length}-${i}`,
              Body: 'y'.repeat(1024),
            }),
          );
      },
    ]);
    kinds.push([
      'ECR DescribeRepositories',
      (e) => {
        const ecr = new ECRClient(common(e));
        return () => ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['jax-lm'] }));
      },
    ]);
    kinds.push([
      'SageMaker DescribeTrainingJob (served by the service)',
      (e) => {
        if (e === moto.endpoint) return undefined;
        const sm = new SageMakerClient(common(e));
        return () => sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'nope' })).catch(() => undefined);
      },
    ]);
    const rows: (string | number)[][] = [];
    for (const [what, make] of kinds) {
      const calls = targets.map(([label, endpoint]) => [label, make(endpoint, label)] as const).filter(([, c]) => c);
      for (const [, c] of calls) for (let i = 0; i < 20; i++) await (c as Call)(-1 - i); // warm connections
      // Interleaved, so load on the shared machine falls on every target alike.
      const samples = new Map<string, number[]>(calls.map(([l]) => [l, []]));
      for (let i = 0; i < n; i++)
        for (const [label, c] of calls) {
          const t = process.hrtime.bigint();
          await (c as Call)(i);
          samples.get(label)?.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
      const p50: Record<string, number> = {};
      for (const [label, ms] of samples) {
        const st = stat(ms);
        p50[label] = st.p50;
        rows.push([what, label, st.n, st.p50.toFixed(2), st.p99.toFixed(2)]);
      }
      const on50 = p50['gateway, IAM enforced'];
      const off50 = p50['gateway, LOCAL_IAM=off'];
      if (on50 !== undefined && off50 !== undefined)
        rows.push([what, 'difference of the medians, on - off', '', (on50 - off50).toFixed(2), '']);
    }
    const st = on.ctx.iam?.stats();
    if (st)
      rows.push([
        'all of the above, inside the service',
        `IAM time per request (mapping + decisions), ${st.requests} requests`,
        st.requests,
        `mean ${(st.requestMeanUs / 1000).toFixed(3)}`,
        '',
      ]);
    return rows;
  } finally {
    for (const s of services) await s.close();
    await moto.stop();
  }
}

/** The bench's options. */
export function options(cmd: Command): Command {
  return cmd
    .option('--decisions <n>', 'policy decisions timed', positiveInt, 5000)
    .option('--requests <n>', 'requests through the gateway, on and off', positiveInt, 400);
}

export async function run(opts: { decisions: number; requests: number }): Promise<void> {
  const n = opts.decisions;
  const requests = opts.requests;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-iam-'));
  try {
    say(`decision time, ${n} calls per row`);
    const d = await decisions(n);
    say(`round trips, ${requests} sequential calls per row`);
    const r = await roundTrips(requests, dir);
    const load = os.loadavg()[0]?.toFixed(1);
    writeResult({
      name: 'iam',
      title: 'Local IAM enforcement: cost per request',
      command: `npm run bench -- iam --decisions ${n} --requests ${requests}`,
      columns: ['measure', 'where', 'calls', 'p50', 'p99'],
      rows: [
        ...d.map(([label, calls, mean, p50, p99]) => [
          label ?? '',
          `decision, in process (mean ${mean} us)`,
          calls ?? '',
          `${p50} us`,
          `${p99} us`,
        ]),
        ...r.map(([what, where, calls, p50, p99]) => [
          what ?? '',
          where ?? '',
          calls ?? '',
          p50 === '' ? '' : `${p50} ms`,
          p99 === '' || p99 === undefined ? '' : `${p99} ms`,
        ]),
      ],
      notes: [
        `**Decision time** is the request mapping (ARNs from the Service Authorization Reference, condition keys) plus AWS's evaluation by @cloud-copilot/iam-simulate, measured in one process over iam/worker-policy.json. Only the statements whose Action can match are simulated (chosen once per action), and decisions are remembered, so a repeated call (a Describe every poll interval) costs a map lookup.`,
        `**Round trip** is one SDK call, sequential, from the bench process: straight to moto (anchor 1), through the local service's gateway with LOCAL_IAM=off (anchor 2: the proxy alone), and with enforcement on, the three interleaved call by call; the difference of the medians of the last two is the enforcement's share, and the service's own clock gives the time it spent authorizing per request. The load average during the run was ${load} on this shared machine: absolute times are upper bounds.`,
      ],
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
