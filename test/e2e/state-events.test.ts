/**
 * The local stack runs the event path of docs/events.md end to end: a local job's state change is published through
 * moto's EventBridge to the queue infra/ deploys, the worker's relay (`npm run worker` with the stack's environment,
 * local/stack/config.ts workerEnv) receives it through the IAM gateway and signals the step, and the step acts on it:
 * each waiting step's history shows a `jobStateChanged` signal followed by the cancel of the wait it cut short (the
 * step then describes at once instead of at its polling net, LOCAL_EVENT_NET_INTERVAL_S).
 */
import type { Client } from '@temporalio/client';
import fs from 'node:fs';
import type { PipelineSummary } from '../../contracts/pipeline-plan';
import { LocalHarness, missingEntrypoints } from '../../testing/local-harness';
import { waitForWorkerReady } from '../../testing/worker-process';
import { LOCAL_EVENT_NET_INTERVAL_S } from '../../local/stack/config';

const missing = missingEntrypoints();
const suite = missing.length ? describe.skip : describe;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

jest.setTimeout(900_000);

const TASK_QUEUE = `e2e-events-${process.pid}`;

let h: LocalHarness;
let client: Client;
let ok = false;

/** What the events did to one workflow of a run: signals it got, and waits a signal cut short (cancelled after it). */
interface Woken {
  signals: number;
  cut: number;
}

/** Each workflow of a run (the run and every child step, depth first) with what the events did to it. */
async function wokenPerWorkflow(workflowId: string, out: Map<string, Woken> = new Map()) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const woken: Woken = { signals: 0, cut: 0 };
  let signalled = false;
  const children: string[] = [];
  for (const e of history.events ?? []) {
    if (e.workflowExecutionSignaledEventAttributes?.signalName === 'jobStateChanged') {
      woken.signals++;
      signalled = true;
    }
    if (e.activityTaskCancelRequestedEventAttributes && signalled) {
      woken.cut++;
      signalled = false;
    }
    const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
    if (child) children.push(child);
  }
  out.set(workflowId, woken);
  for (const c of children) await wokenPerWorkflow(c, out);
  return out;
}

suite('state-change events on the local stack', () => {
  beforeAll(async () => {
    h = await LocalHarness.start({ prefix: 'events-e2e', log: () => undefined });
    const worker = h.startWorker(TASK_QUEUE, 'worker');
    await waitForWorkerReady(worker, 120_000);
    client = await h.client();
  });

  afterAll(async () => {
    if (!h) return;
    if (!ok) console.warn(`state-events e2e: state and logs kept in ${h.cfg.stateDir}`);
    await h.stop(!ok);
  });

  test("a whole run deploys with its steps' waits cut short by the relay's signals", async () => {
    const workflowId = `e2e-events-${Date.now().toString(36)}`;
    const summary: PipelineSummary = await client.workflow.execute('migrationPipeline', {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [h.spec()],
    });
    expect(summary.outcome).toBe('deployed');

    const log = fs.readFileSync(h.workerLog('worker'), 'utf8');
    expect(log).toContain(
      `event relay reading ${h.env.PIPELINE_EVENTS_QUEUE_URL} (polling net every ${LOCAL_EVENT_NET_INTERVAL_S} s)`,
    );
    // No relay call was refused by the gateway (an IAM denial or a documented rule is logged as a failed receive).
    expect(log).not.toMatch(/event relay: .*(AccessDenied|InvalidParameterValue)/);

    const woken = await wokenPerWorkflow(workflowId);
    // The steps that wait on a build, a job or the endpoint: each was signalled, and a signal cut a wait short.
    for (const step of ['buildImage', 'trainModel', 'tuneModel', 'deployModel']) {
      const [, got] = [...woken].find(([id]) => id.endsWith(`/${step}`)) ?? [step, { signals: 0, cut: 0 }];
      expect({ step, signalled: got.signals > 0, cut: got.cut > 0 }).toEqual({ step, signalled: true, cut: true });
    }
    ok = true;
  });
});
