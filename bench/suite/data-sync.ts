/**
 * `npm run bench -- data-sync [--objects 10000] [--changed 100] [--keep]`: the syncData activity against
 * `aws s3 sync` (pinned AWS CLI from PyPI) on the same moto server and the same local folder. Three rounds: the first
 * sync, a second one with nothing changed, and a third after `--changed` files were rewritten. Objects copied are
 * counted on the server (objects whose LastModified falls in the round), and cross-checked with what each tool says.
 */
import { CreateBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createS3SyncActivities } from '../../activities/s3-sync';
import {
  type SyncDataInput,
  type SyncDataOutput,
  SyncDataInput as SyncDataInputSchema,
} from '../../contracts/sync-data';
import { REGION } from '../../local/shared/account';
import { sleep } from '../../local/shared/procs';
import { createAwsClients } from '../../worker/aws-clients';
import { writeResult } from '../lib/results';
import type { Command } from 'commander';
import { positiveInt } from '../../worker/command-line';
import { AWSCLI_VERSION, ensureAwsCli } from './lib/awscli-venv';
import { execWithCpu, procCpuSeconds, selfCpuSeconds } from './lib/cpu-seconds';
import { startMoto } from './lib/moto-server';
import { changeDataset, SIZES, writeDataset } from './lib/sync-dataset-files';

export const about =
  'syncData vs `aws s3 sync` on 10,000 small objects (moto): objects copied and time, first/second/changed sync';

const OURS = 'bench-ours';
const THEIRS = 'bench-aws';
const PREFIX = 'data/';
const say = (m: string) => console.log(`[data-sync] ${m}`);

/**
 * One tool's round: wall seconds, its own CPU seconds, moto's CPU seconds serving it, objects written, what it
 * reported.
 */
interface Side {
  s: number;
  cpuS: number;
  motoCpuS: number;
  copied: number;
  reported: number;
}

interface Round {
  label: string;
  ours: Side;
  aws: Side;
}

/** Objects in `bucket` whose LastModified is at or after `since` (moto keeps whole seconds: compare floored). */
async function writtenSince(s3: S3Client, bucket: string, since: number): Promise<number> {
  const floor = Math.floor(since / 1000) * 1000;
  let n = 0;
  let ContinuationToken: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken }));
    for (const o of page.Contents ?? []) if ((o.LastModified?.getTime() ?? 0) >= floor) n += 1;
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return n;
}

/** Starts a round only once the clock has left the second of the last write, so LastModified separates rounds. */
const nextSecond = () => sleep(1_100);

/** The bench's options. */
export function options(cmd: Command): Command {
  return cmd
    .option('--objects <n>', 'objects in the dataset', positiveInt, 10_000)
    .option('--changed <n>', 'objects changed before the third sync', positiveInt, 100)
    .option('--keep', 'keep the stack and its state dir afterwards', false);
}

export async function run(opts: { objects: number; changed: number; keep: boolean }): Promise<void> {
  const count = opts.objects;
  const changed = opts.changed;
  const keep = opts.keep;
  const load0 = os.loadavg()[0]?.toFixed(1);
  const aws = ensureAwsCli(say);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-data-sync-'));
  const root = path.join(dir, 'dataset');
  let t = Date.now();
  const bytes = writeDataset(root, count);
  say(
    `wrote ${count} objects (${(bytes / 2 ** 20).toFixed(1)} MiB, sizes ${SIZES.join('/')} B) to ${root} in ` +
      `${((Date.now() - t) / 1000).toFixed(1)} s`,
  );
  const moto = await startMoto(dir);
  say(`moto on ${moto.endpoint} (log ${moto.log})`);
  try {
    // The worker's own client factory, pointed at moto the way local mode points it.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: REGION,
    });
    const clients = createAwsClients({ region: REGION, forcePathStyle: true });
    const s3 = clients.s3;
    for (const Bucket of [OURS, THEIRS]) await s3.send(new CreateBucketCommand({ Bucket }));
    const { syncDataset } = createS3SyncActivities({ clients });
    const input: SyncDataInput = {
      source: { localPath: root },
      bucket: OURS,
      prefix: PREFIX,
      channels: ['train', 'val'],
    };
    const parsed = SyncDataInputSchema.parse(input);
    // The CLI reads no user config: credentials and region from the environment only.
    const awsEnv = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_DEFAULT_REGION: REGION,
      AWS_CONFIG_FILE: path.join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
    };
    t = Date.now();
    const version = await execWithCpu(aws, ['--version'], awsEnv);
    const cliStart = { s: (Date.now() - t) / 1000, cpuS: version.cpuS };

    const ours = async (): Promise<Side> => {
      const start = Date.now();
      const cpu0 = selfCpuSeconds();
      const moto0 = procCpuSeconds(moto.pid);
      const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('WARN') });
      const out = (await env.run(syncDataset, input)) as SyncDataOutput;
      const s = (Date.now() - start) / 1000;
      const cpuS = selfCpuSeconds() - cpu0;
      const motoCpuS = procCpuSeconds(moto.pid) - moto0;
      return { s, cpuS, motoCpuS, copied: await writtenSince(s3, OURS, start), reported: out.copied };
    };
    const theirs = async (): Promise<Side> => {
      const start = Date.now();
      const moto0 = procCpuSeconds(moto.pid);
      const { stdout, cpuS } = await execWithCpu(
        aws,
        ['s3', 'sync', root, `s3://${THEIRS}/${PREFIX}`, '--endpoint-url', moto.endpoint, '--no-progress'],
        awsEnv,
      );
      const s = (Date.now() - start) / 1000;
      const motoCpuS = procCpuSeconds(moto.pid) - moto0;
      return {
        s,
        cpuS,
        motoCpuS,
        copied: await writtenSince(s3, THEIRS, start),
        reported: stdout.split('\n').filter((l) => l.startsWith('upload:')).length,
      };
    };
    const rounds: Round[] = [];
    const round = async (label: string) => {
      await nextSecond();
      const o = await ours();
      say(
        `${label}: ours ${o.s.toFixed(1)} s (CPU ${o.cpuS.toFixed(1)} s, moto ${o.motoCpuS.toFixed(1)} s), ` +
          `${o.copied} objects written (activity says ${o.reported})`,
      );
      await nextSecond();
      const a = await theirs();
      say(
        `${label}: aws s3 sync ${a.s.toFixed(1)} s (CPU ${a.cpuS.toFixed(1)} s, moto ${a.motoCpuS.toFixed(1)} ` +
          `s), ${a.copied} objects written (CLI printed ${a.reported} uploads)`,
      );
      rounds.push({ label, ours: o, aws: a });
    };
    await round(`1. first sync (${count} new)`);
    await round('2. second sync (nothing changed)');
    await nextSecond();
    const rewritten = changeDataset(root, count, changed);
    await round(`3. after rewriting ${rewritten.length} files`);

    const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? '1 (both 0)' : `${a} vs 0`) : (a / b).toFixed(2));
    const mismatches = rounds.filter((r) => r.ours.copied !== r.ours.reported || r.aws.copied !== r.aws.reported);
    writeResult({
      name: 'data-sync',
      title: `Data sync: syncData vs aws s3 sync (awscli ${AWSCLI_VERSION}), ${count} objects on moto`,
      command: `npm run bench -- data-sync --objects ${count} --changed ${changed}`,
      columns: [
        'round',
        'ours: objects copied',
        'aws: objects copied',
        'copied ratio (ours/aws)',
        'ours s',
        'aws s',
        'time ratio (ours/aws)',
        'ours CPU s (+ moto)',
        'aws CPU s (+ moto)',
        'CPU ratio (ours/aws, client only)',
      ],
      rows: rounds.map((r) => [
        r.label,
        r.ours.copied,
        r.aws.copied,
        ratio(r.ours.copied, r.aws.copied),
        Number(r.ours.s.toFixed(2)),
        Number(r.aws.s.toFixed(2)),
        ratio(r.ours.s, r.aws.s),
        `${r.ours.cpuS.toFixed(1)} (+ ${r.ours.motoCpuS.toFixed(1)})`,
        `${r.aws.cpuS.toFixed(1)} (+ ${r.aws.motoCpuS.toFixed(1)})`,
        ratio(r.ours.cpuS, r.aws.cpuS),
      ]),
      notes: [
        `Dataset: ${count} files, ${(bytes / 2 ** 20).toFixed(1)} MiB (sizes ${SIZES.join(', ')} bytes cycled; ` +
          `90 % under train/, 10 % under val/). ` +
          `Round 3 rewrites ${rewritten.length} files spread over the dataset: half with new bytes of the same ` +
          `size, half 100 bytes longer. ` +
          `Both tools read the same folder and write to their own bucket (${OURS}, ${THEIRS}) on one moto ` +
          `server (moto keeps every object in memory).`,
        `Ours is the syncData step's activity (activities/s3-sync.ts, \`syncDataset\`) called in this process ` +
          `through a mock activity context, with the step's defaults ` +
          `(maxConcurrency ${parsed.maxConcurrency}, multipart above ${parsed.multipartThresholdMiB} MiB) and ` +
          `the worker's S3 client factory; its time excludes Temporal scheduling. ` +
          `The anchor is \`aws s3 sync <dir> s3://${THEIRS}/${PREFIX} --endpoint-url <moto> --no-progress\` ` +
          `with its defaults (10 concurrent requests); its time is the CLI process's wall time, ` +
          `including the Python start (\`aws --version\` took ${cliStart.s.toFixed(1)} s, ` +
          `${cliStart.cpuS.toFixed(1)} CPU s here).`,
        "CPU seconds (user + system) are the client's own (this process during the activity call; the CLI " +
          "process tree through bash `times`), and in brackets the moto server's " +
          'CPU during the round (from /proc): on a busy shared machine wall times swing with the load, CPU ' +
          'seconds much less, so read the CPU ratio as the cost of each tool.',
        'Objects copied are counted on the server: objects in the bucket whose LastModified falls inside the ' +
          'round (rounds start on a fresh second, since moto keeps whole seconds). ' +
          (mismatches.length === 0
            ? "They agree with what each tool reported (the activity's `copied`, the CLI's `upload:` lines) in " +
              'every round.'
            : `They disagree with what a tool reported in: ` +
              mismatches
                .map((r) => `${r.label} (ours said ${r.ours.reported}, aws printed ${r.aws.reported})`)
                .join('; ') +
              '.'),
        'Reading: a copied ratio of 1 means both tools did the same work; a time ratio below 1 means ours was ' +
          'faster. The second round should copy 0 objects with both. ' +
          'The tools decide "unchanged" differently: ours compares size and the content ETag (MD5 of each local ' +
          'file, so it reads every file again), the CLI compares size and the ' +
          "local mtime against the object's LastModified (no reading); an mtime-preserving edit of the same " +
          'size is caught by ours only, a touched but unchanged file is re-sent by the CLI only. ' +
          `On a 2-core machine shared with other work the times are provisional (load average, 1 min: ${load0} ` +
          `at the start, ${os.loadavg()[0]?.toFixed(1)} at the end, on ${os.cpus().length} cores); ratios from ` +
          `one run are comparable, absolute seconds less so.`,
      ],
    });
  } finally {
    await moto.stop();
    if (keep) say(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}
