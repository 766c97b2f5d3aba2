/**
 * Local mode's state-change events (docs/events.md): whenever a local training, tuning, processing or transform job,
 * endpoint, model package or CodeBuild build changes status, the service publishes the event AWS documents for it
 * (source, detail-type, the resource's ARN in `resources`, a detail with the resource's Describe fields and its Tags)
 * through moto's EventBridge PutEvents, so the rule that infra/ deploys routes it to the queue the worker's relay
 * reads, as on AWS. The one hook is the state store (core/state.ts): every record written passes here.
 *
 * LOCAL_EVENT_FAULTS spoils delivery for the chaos campaign (bench/chaos/campaigns/events.ts), as a comma list:
 * `drop=P` and `duplicate=P` (probabilities), `delayMs=N` (an event held N ms: every event, or with `delay=P` that
 * share of them), `reorder=P` (an event held back behind the next one). Each spoiled event is logged
 * (`state-change event <fault>: <kind>/<key> <status> at <epoch ms>`), so a campaign can time what a lost one cost.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { REGION } from '../../shared/account';
import { ADMIN_CREDENTIALS } from '../../shared/credentials';
import type { Tag } from './request-fields';

/** How one state-store kind maps to its documented event. */
interface EventKind {
  source: 'aws.sagemaker' | 'aws.codebuild';
  detailType: string;
  status(record: Record<string, unknown>): unknown;
  arn(record: Record<string, unknown>): string;
  detail(record: Record<string, unknown>, tags: Tag[]): Record<string, unknown>;
}

/** A SageMaker event's detail: the resource's Describe fields (the service's own `_` fields left out) and its Tags. */
function sageMakerDetail(record: Record<string, unknown>, tags: Tag[]): Record<string, unknown> {
  const detail = Object.fromEntries(Object.entries(record).filter(([k]) => !k.startsWith('_')));
  return { ...detail, Tags: Object.fromEntries(tags.map((tag) => [tag.Key, tag.Value])) };
}

const sageMaker = (detailType: string, status: string, arn: string): EventKind => ({
  source: 'aws.sagemaker',
  detailType,
  status: (r) => r[status],
  arn: (r) => String(r[arn] ?? ''),
  detail: sageMakerDetail,
});

/** The kinds of the state store (local/service) that AWS publishes state-change events for. */
export const EVENT_KINDS: Record<string, EventKind> = {
  'training-jobs': {
    ...sageMaker('SageMaker Training Job State Change', 'TrainingJobStatus', 'TrainingJobArn'),
    // The secondary status is part of what a training step follows (Starting, Downloading, Training, ...).
    status: (r) => `${String(r.TrainingJobStatus)}/${String(r.SecondaryStatus)}`,
  },
  'tuning-jobs': sageMaker(
    'SageMaker HyperParameter Tuning Job State Change',
    'HyperParameterTuningJobStatus',
    'HyperParameterTuningJobArn',
  ),
  'processing-jobs': sageMaker('SageMaker Processing Job State Change', 'ProcessingJobStatus', 'ProcessingJobArn'),
  'transform-jobs': sageMaker('SageMaker Transform Job State Change', 'TransformJobStatus', 'TransformJobArn'),
  endpoints: sageMaker('SageMaker Endpoint State Change', 'EndpointStatus', 'EndpointArn'),
  'model-packages': {
    ...sageMaker('SageMaker Model Package State Change', 'ModelPackageStatus', 'ModelPackageArn'),
    status: (r) => `${String(r.ModelPackageStatus)}/${String(r.ModelApprovalStatus)}`,
  },
  'codebuild-builds': {
    source: 'aws.codebuild',
    detailType: 'CodeBuild Build State Change',
    status: (r) => r.buildStatus,
    arn: (r) => String(r.arn ?? ''),
    // The documented shape ("Build notifications input format reference", CodeBuild User Guide).
    detail: (r) => {
      const env = (r.environment ?? {}) as Record<string, unknown>;
      return {
        'build-status': r.buildStatus,
        'project-name': r.projectName,
        'build-id': r.arn,
        'additional-information': {
          environment: {
            image: env.image,
            'privileged-mode': env.privilegedMode ?? false,
            'compute-type': env.computeType,
            type: env.type,
            'environment-variables': env.environmentVariables ?? [],
          },
          'timeout-in-minutes': r.timeoutInMinutes,
          'build-complete': r.buildComplete,
          initiator: r.initiator,
          'build-start-time': new Date(Number(r.startTime) * 1000).toUTCString(),
          source: r.source,
          logs: r.logs,
          phases: r.phases,
        },
        'current-phase': r.currentPhase,
        'current-phase-context': '[]',
        version: '1',
      };
    },
  },
};

/** LOCAL_EVENT_FAULTS, parsed. */
export interface EventFaults {
  drop: number;
  duplicate: number;
  delayMs: number;
  /** The share of events held `delayMs`; every event when absent from LOCAL_EVENT_FAULTS (1). */
  delay: number;
  reorder: number;
}

/** Parses LOCAL_EVENT_FAULTS; an unknown or malformed entry is an error naming it. */
export function parseEventFaults(spec: string | undefined): EventFaults {
  const f: EventFaults = { drop: 0, duplicate: 0, delayMs: 0, delay: 1, reorder: 0 };
  for (const part of (spec ?? '').split(',').filter(Boolean)) {
    const [key, value] = part.split('=', 2);
    const n = Number(value);
    const share = key !== 'delayMs';
    if (!key || !(key in f) || !Number.isFinite(n) || n < 0 || (share && n > 1))
      throw new Error(
        `LOCAL_EVENT_FAULTS: "${part}" is not drop=P, duplicate=P, delay=P, reorder=P (P from 0 to 1) or delayMs=N`,
      );
    f[key as keyof EventFaults] = n;
  }
  return f;
}

/** Publishes the state-change events of the records the store writes. */
export class StateEventPublisher {
  private readonly last = new Map<string, unknown>();
  private held: PutEventsRequestEntry | undefined;
  private readonly client: EventBridgeClient;
  private warned = false;
  /** Events published (after faults), for tests and the chaos campaign's report. */
  published = 0;

  constructor(
    motoEndpoint: string,
    private readonly tagsOf: (arn: string) => Tag[],
    private readonly log: (msg: string) => void,
    private readonly faults: EventFaults = parseEventFaults(process.env.LOCAL_EVENT_FAULTS),
    private readonly random: () => number = Math.random,
  ) {
    this.client = new EventBridgeClient({
      endpoint: motoEndpoint,
      region: REGION,
      credentials: ADMIN_CREDENTIALS,
      maxAttempts: 3,
    });
  }

  /** The store's change listener: publishes when a record's status differs from the last one published. */
  changed(kind: string, key: string, value: object): void {
    const k = EVENT_KINDS[kind];
    if (!k) return;
    // A copy as it is now: the service mutates its records in place, and the event says what this change made.
    const record = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
    const status = k.status(record);
    const id = `${kind}/${key}`;
    if (this.last.get(id) === status) return;
    this.last.set(id, status);
    // After the request that wrote the record: its tags (stored beside it by the same request) are in by then.
    setImmediate(() => {
      const arn = k.arn(record);
      const entry: PutEventsRequestEntry = {
        Source: k.source,
        DetailType: k.detailType,
        Resources: [arn],
        Time: new Date(),
        Detail: JSON.stringify(k.detail(record, this.tagsOf(arn))),
      };
      this.deliver(entry, `${id} ${String(status)}`);
    });
  }

  private deliver(entry: PutEventsRequestEntry, what: string): void {
    const f = this.faults;
    const spoiled = (fault: string) => this.log(`state-change event ${fault}: ${what} at ${Date.now()}`);
    if (f.drop && this.random() < f.drop) return spoiled('dropped');
    const copies = f.duplicate && this.random() < f.duplicate ? 2 : 1;
    if (copies > 1) spoiled('duplicated');
    if (f.reorder && !this.held && this.random() < f.reorder) {
      spoiled('reordered');
      this.held = entry; // goes out after the next event
      return;
    }
    const out = [entry, ...(this.held ? [this.held] : [])];
    this.held = undefined;
    const send = () => {
      for (let i = 0; i < copies; i++) void this.put(out);
    };
    if (f.delayMs && this.random() < f.delay) {
      spoiled(`delayed ${f.delayMs} ms`);
      setTimeout(send, f.delayMs).unref();
    } else send();
  }

  private async put(entries: PutEventsRequestEntry[]): Promise<void> {
    try {
      const res = await this.client.send(new PutEventsCommand({ Entries: entries }));
      this.published += entries.length - (res.FailedEntryCount ?? 0);
    } catch (err) {
      if (!this.warned) this.log(`state-change events: PutEvents failed (${(err as Error).message}); going on`);
      this.warned = true;
    }
  }

  close(): void {
    this.client.destroy();
  }
}
