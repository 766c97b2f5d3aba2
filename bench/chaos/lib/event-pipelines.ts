/**
 * Whole pipelines on the local stack with their state-change events spoiled (the pipelines mode of the events
 * campaign, bench/chaos/campaigns/events.ts): the local service drops, duplicates, delays and reorders the events it
 * publishes (LOCAL_EVENT_FAULTS), the queue becomes unreachable for the worker's relay for a while (a TCP gate in
 * front of the gateway, which the relay's SQS calls pass), and the relay is killed with its worker mid-run. Every run
 * must deploy exactly once with nothing duplicated (the resource ledger, as in the other campaigns), and a dropped
 * event must cost at most the polling net: the time from the dropped event to the next Describe of its resource
 * (the local service's request log) is reported against the net.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EVENTS_QUEUE_NAME } from '../../../infra/resource-ids';
import { LocalHarness } from '../../../testing/local-harness';
import { ACCOUNT_ID } from '../../../local/shared/account';
import { sleep } from '../../../local/shared/procs';
import { LOCAL_EVENT_NET_INTERVAL_S } from '../../../local/stack/config';
import { deployCell, followPhases, outcomeCell, outcomeOf, say, startPipeline } from './pipeline-watch';
import {
  diff,
  exactlyOnePerStep,
  ledger,
  ledgerAfter,
  readKind,
  RESOURCE_COLUMNS,
  resourceCells,
} from './resource-ledger';
import { startTcpGate } from './tcp-gate';
import { KillableWorker } from './worker-pool';

/** The pipelines mode's options. */
export interface EventPipelinesOptions {
  runs: number;
  /** The share of events dropped, and (each apart) duplicated, delayed and reordered. */
  share: number;
  /** How long a delayed event is held, in seconds. */
  delay: number;
  /** How long the queue is unreachable, in seconds. */
  unreachable: number;
}

/** What the mode found, for the campaign's result file. */
export interface EventPipelinesResult {
  ok: boolean;
  columns: string[];
  rows: (string | number)[][];
  notes: string[];
}

/** The Describe-like call of each kind the local service publishes events for, and where it names the resource. */
const DESCRIBE_OF: Record<string, string> = {
  'training-jobs': 'DescribeTrainingJob',
  'tuning-jobs': 'DescribeHyperParameterTuningJob',
  'processing-jobs': 'DescribeProcessingJob',
  'transform-jobs': 'DescribeTransformJob',
  endpoints: 'DescribeEndpoint',
  'codebuild-builds': 'BatchGetBuilds',
};

interface Spoiled {
  fault: string;
  kind: string;
  key: string;
  status: string;
  at: number;
}

/** The events the service spoiled, from its log (local/service/core/state-events.ts logs each one). */
function spoiledEvents(h: LocalHarness): Spoiled[] {
  const file = path.join(h.cfg.stateDir, 'logs', 'sagemaker.log');
  if (!fs.existsSync(file)) return [];
  const out: Spoiled[] = [];
  for (const m of fs
    .readFileSync(file, 'utf8')
    .matchAll(/state-change event (dropped|duplicated|reordered|delayed \d+ ms): ([^/\s]+)\/(\S+) (\S+) at (\d+)/g))
    out.push({
      fault: (m[1] as string).split(' ')[0] as string,
      kind: m[2] as string,
      key: m[3] as string,
      status: m[4] as string,
      at: Number(m[5]),
    });
  return out;
}

/** The local service's request log: arrival time, operation and the resource named. */
function requestLog(h: LocalHarness): { t: number; op: string; name?: string }[] {
  const file = [path.join(h.cfg.stateDir, 'sagemaker', 'requests.log'), path.join(h.cfg.stateDir, 'requests.log')].find(
    (f) => fs.existsSync(f),
  );
  if (!file) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { t: number; op: string; name?: string });
}

/**
 * What each dropped event cost: seconds from the drop to the next Describe of its resource within the run, for the
 * resources a step waits on (a tuning job's trials are not: the step follows the tuning job).
 */
function dropCosts(h: LocalHarness, window: { from: number; to: number }): { what: string; costS: number }[] {
  const trials = new Set(
    readKind(h, 'training-jobs').flatMap((j) => (j.TuningJobArn ? [String(j.TrainingJobName)] : [])),
  );
  const requests = requestLog(h);
  return spoiledEvents(h)
    .filter((s) => s.fault === 'dropped' && s.at >= window.from && s.at <= window.to && DESCRIBE_OF[s.kind])
    .filter((s) => !(s.kind === 'training-jobs' && trials.has(s.key)))
    .flatMap((s) => {
      const op = DESCRIBE_OF[s.kind] as string;
      const next = requests.find(
        (r) =>
          r.t >= s.at && r.t <= window.to && r.op.endsWith(op) && (r.name === s.key || r.name === s.key.split(':')[0]),
      );
      return next ? [{ what: `${s.kind}/${s.key} ${s.status}`, costS: (next.t - s.at) / 1000 }] : [];
    });
}

/** Runs `runs` whole pipelines (a create, then blue/green updates) with the events spoiled; see the file comment. */
export async function runEventPipelines(o: EventPipelinesOptions): Promise<EventPipelinesResult> {
  const tag = 'events';
  const faults = `drop=${o.share},duplicate=${o.share},reorder=${o.share},delay=${o.share},delayMs=${o.delay * 1000}`;
  // The local service reads it when `up` starts it.
  process.env.LOCAL_EVENT_FAULTS = faults;
  const h = await LocalHarness.start({ prefix: 'chaos-events', log: (l) => say(tag, l) });
  delete process.env.LOCAL_EVENT_FAULTS;
  let ok = false;
  const rows: (string | number)[][] = [];
  const costs: { what: string; costS: number }[] = [];
  const failures: string[] = [];
  let kills = 0;
  let outages = 0;
  try {
    // The relay reaches the queue through the gate; everything else goes straight to the local service.
    const gate = await startTcpGate(h.cfg.servicePort);
    const viaGate = `http://127.0.0.1:${gate.port}`;
    const worker = await KillableWorker.start(h, `chaos-events-${process.pid}`, {
      AWS_ENDPOINT_URL_SQS: viaGate,
      PIPELINE_EVENTS_QUEUE_URL: `${viaGate}/${ACCOUNT_ID}/${EVENTS_QUEUE_NAME}`,
    });
    for (let r = 1; r <= o.runs; r++) {
      const workflowId = `chaos-events-r${r}-${Date.now().toString(36)}`;
      const spec = h.spec((s) => {
        s.registry.modelPackageGroup = `chaos-events-r${r}`;
      });
      const before = ledger(h);
      const from = Date.now();
      say(tag, `run ${r} (${workflowId}) with LOCAL_EVENT_FAULTS=${faults}`);
      const handle = await startPipeline(h, worker.taskQueue, workflowId, spec);
      let finished = false;
      const outcome = outcomeOf(handle).finally(() => (finished = true));
      const until = async (ms: number) => {
        for (const end = Date.now() + ms; !finished && Date.now() < end;) await sleep(500);
        return !finished;
      };
      // Mid-run: the queue unreachable for a while, then the relay killed (with its worker) and restarted.
      const disruptions = (async () => {
        if (!(await until(30_000))) return;
        say(tag, `run ${r}: queue unreachable for ${o.unreachable} s`);
        await gate.close();
        outages++;
        await sleep(o.unreachable * 1000);
        await gate.open();
        if (!(await until(30_000))) return;
        say(tag, `run ${r}: relay killed with its worker (SIGKILL), restarted after 5 s`);
        await worker.killAndRestart(5_000);
        kills++;
      })();
      await followPhases(
        h,
        workflowId,
        () => finished,
        (p) => say(tag, `run ${r}: ${p}`),
      );
      const out = await outcome;
      await disruptions;
      const got = diff(before, await ledgerAfter(h));
      const runCosts = dropCosts(h, { from, to: Date.now() });
      costs.push(...runCosts);
      const spoiled = spoiledEvents(h).filter((s) => s.at >= from);
      const count = (f: string) => spoiled.filter((s) => s.fault === f).length;
      const okRun = exactlyOnePerStep(
        got,
        { outcome: out.summary?.outcome, endpointAction: out.summary?.endpoint?.action },
        r === 1,
      );
      if (!okRun) failures.push(`run ${r}: ${outcomeCell(out)}; resources ${JSON.stringify(got)}`);
      const worst = Math.max(0, ...runCosts.map((c) => c.costS));
      rows.push([
        r,
        deployCell(out),
        ...resourceCells(got, r === 1),
        `${count('dropped')} / ${count('duplicated')} / ${count('delayed')} / ${count('reordered')}`,
        runCosts.length ? worst.toFixed(1) : '-',
        Math.round(out.seconds),
        okRun ? 'ok' : 'MISSED',
      ]);
      say(tag, `run ${r}: ${outcomeCell(out)} in ${out.seconds.toFixed(0)} s; ${JSON.stringify(got)}`);
    }
    await gate.close();
    ok = failures.length === 0;
  } finally {
    await h.stop(!ok);
  }
  const net = LOCAL_EVENT_NET_INTERVAL_S;
  const worst = costs.reduce((w, c) => (c.costS > w.costS ? c : w), { what: 'none', costS: 0 });
  const overNet = costs.filter((c) => c.costS > net + 5);
  return {
    ok: ok && overNet.length === 0,
    columns: [
      'run',
      'outcome',
      ...RESOURCE_COLUMNS,
      'events dropped / duplicated / delayed / reordered',
      'worst dropped event -> next Describe (s)',
      'run seconds',
      'check',
    ],
    rows,
    notes: [
      `**Outcome: ${ok && overNet.length === 0 ? 'passed' : 'FAILED'}.** ${failures.join('; ') || `every run deployed exactly once with nothing duplicated`}. ` +
        `${costs.length} dropped events of resources a step waits on; the worst cost ${worst.costS.toFixed(1)} s ` +
        `(${worst.what}) against the local polling net of ${net} s` +
        (overNet.length
          ? `; over the net + 5 s: ${overNet.map((c) => `${c.what} ${c.costS.toFixed(1)} s`).join(', ')}`
          : '') +
        '.',
      `**Faults.** LOCAL_EVENT_FAULTS=${faults}: the local service drops ${o.share * 100}% of the events it ` +
        `publishes, and (each drawn apart) duplicates, delays by ${o.delay} s and holds back behind the next event ` +
        `${o.share * 100}%. In each run, 30 s in, the queue is unreachable for the relay for ${o.unreachable} s (a ` +
        `TCP gate in front of the IAM gateway cuts its connections and refuses new ones; ${outages} outage(s) in all); ` +
        `30 s after that the worker, and the relay in it, is SIGKILLed and restarted 5 s later (${kills} kill(s) in ` +
        "all): messages it had received but not deleted come back after the queue's 60 s visibility timeout.",
      "**How.** Whole migrationPipeline runs (tiny spec) on the local stack with `npm run worker`'s relay " +
        "(local/stack/config.ts workerEnv). Resources are counted from the local service's state and call counters " +
        "before and after each run, as in the faults campaign. A dropped event's cost is the time from the drop " +
        "(the service logs each spoiled event) to the next Describe of its resource in the service's request log; " +
        "a tuning job's trials are left out (the step follows the tuning job), and so is a drop no Describe followed " +
        'within the run (no step waiting on that resource then).',
    ],
  };
}
