/**
 * The skeleton every local SageMaker job kind shares (training, processing, transform): a table of job records in
 * the service's state, the runs in flight, one place where a job's status changes (`setStatus`, which also emits
 * `finished` when the job reaches a terminal status), starting a run and collecting its outcome, the instances a
 * kind holds (for its quota), and stopping the runs when the service shuts down. Each kind keeps its request
 * parsing, its run, its API answers and what its outcome means in its own folder.
 */
import { EventEmitter } from 'node:events';
import type { Ctx } from '../../core/context';
import { wire } from '../../core/protocol';
import type { Body } from '../../core/request-fields';
import { listJobs, type ListedJob } from '../job-listing';

/** The statuses a SageMaker job never leaves (TrainingJobStatus, ProcessingJobStatus, TransformJobStatus). */
export const TERMINAL_JOB_STATUSES: ReadonlySet<string> = new Set(['Completed', 'Failed', 'Stopped']);

/** What a kind's run offers the table: run to an outcome, and stop (`shutdown` leaves the job's status alone). */
export interface JobRun<Outcome> {
  run(): Promise<Outcome>;
  stop(reason: 'user' | 'shutdown', graceMs?: number): void;
}

/** What the table needs to know of a kind. */
export interface JobKind<Job> {
  /** The state collection its records live in ("training-jobs"). */
  store: string;
  /** How the log names one ("training job"). */
  noun: string;
  /** The record's status field ("TrainingJobStatus"). */
  statusField: keyof Job & string;
  /** The API's name for the kind ("TrainingJob"): its operations are Create/Describe/List(s)/Stop of it. */
  api: string;
  /** The record's name field ("TrainingJobName"), which the requests name the job by. */
  nameField: keyof Job & string;
  /** The error Describe answers for an unknown name (SageMaker's differs by kind). */
  missing: (name: string) => Error;
  /** Fields the record keeps that Describe does not show. */
  hidden?: (keyof Job & string)[];
  /** List's SortOrder when the request names none (ListTransformJobs: Descending; the others: Ascending). */
  listOrder: 'Ascending' | 'Descending';
  /** A record in List's summary shape. */
  summary: (job: Job) => Record<string, unknown>;
}

/** The job table of one kind; `Outcome` is what its run ends with. */
export abstract class JobTable<Job extends ListedJob, Outcome> {
  protected readonly runs = new Map<string, JobRun<Outcome>>();
  /** Emits `finished` (name) whenever a job reaches a terminal status. */
  readonly events = new EventEmitter();

  protected constructor(
    protected readonly ctx: Ctx,
    private readonly kind: JobKind<Job>,
  ) {}

  /** The kind's records, by job name. */
  get jobs() {
    return this.ctx.store.kind<Job>(this.kind.store);
  }

  /** The kind's API: Create, Describe, List and Stop, each by the request's job name. */
  handlers(): Record<string, (b: Body) => unknown> {
    const { api, nameField } = this.kind;
    const name = (b: Body) => b[nameField] as string;
    return {
      [`Create${api}`]: (b) => ({ [`${api}Arn`]: this.createFromRequest(b) }),
      [`Describe${api}`]: (b) => this.describe(name(b)),
      [`List${api}s`]: (b) => this.list(b),
      [`Stop${api}`]: (b) => {
        this.stop(name(b));
        return {};
      },
    };
  }

  /** Creates the job a Create request asks for; returns its ARN. */
  protected abstract createFromRequest(b: Body): string;

  /** List<Kind>s: the page the request asks for (job-listing.ts), in the kind's summary shape. */
  list(b: Body): Record<string, unknown> {
    const { page, NextToken } = listJobs(this.jobs.values(), b, {
      nameField: this.kind.nameField,
      statusField: this.kind.statusField,
      sortBy: 'CreationTime',
      sortOrder: this.kind.listOrder,
      nameIgnoresCase: true,
    });
    return { [`${this.kind.api}Summaries`]: page.map(this.kind.summary), NextToken };
  }

  /** Stop<Kind>. */
  abstract stop(name: string): void;

  /** Describe<Kind>: the record as the API shows it. */
  describe(name: string): Record<string, unknown> {
    const job = this.jobs.get(name);
    if (!job) throw this.kind.missing(name);
    const shown = { ...job } as Record<string, unknown>;
    for (const field of this.kind.hidden ?? []) delete shown[field];
    return wire(shown);
  }

  /** The job's status. */
  protected statusOf(job: Job): string {
    return job[this.kind.statusField] as string;
  }

  /**
   * The one place a job's status changes: sets it and applies `edit` (timestamps, reasons) in the same update, then
   * tells the listeners when the job reached a terminal status. Returns the updated record.
   */
  protected setStatus(name: string, status: string, edit?: (job: Job) => void): Job | undefined {
    const job = this.jobs.update(name, (job) => {
      (job as Record<string, unknown>)[this.kind.statusField] = status;
      edit?.(job);
    });
    if (job && TERMINAL_JOB_STATUSES.has(status)) this.events.emit('finished', name);
    return job;
  }

  /**
   * Instances of `instanceType` held by the kind's jobs still running (InProgress or Stopping), for its quota.
   * `resources` reads a job's instance type and count.
   */
  protected instancesInUse(instanceType: string, resources: (job: Job) => { type: string; count: number }): number {
    return this.jobs
      .values()
      .filter((job) => this.statusOf(job) === 'InProgress' || this.statusOf(job) === 'Stopping')
      .map(resources)
      .filter((r) => r.type === instanceType)
      .reduce((n, r) => n + r.count, 0);
  }

  /**
   * Runs `run` for the job and hands its outcome to `finish` (a run that throws becomes `crashed(err)`); the run is
   * in `runs` while it lasts.
   */
  protected startRun(
    name: string,
    run: JobRun<Outcome>,
    crashed: (err: Error) => Outcome,
    finish: (outcome: Outcome) => void,
    cleanup?: () => void,
  ): void {
    this.runs.set(name, run);
    run
      .run()
      .finally(() => cleanup?.())
      .catch(crashed)
      .then((outcome) => {
        this.runs.delete(name);
        finish(outcome);
      })
      .catch((err: Error) => this.ctx.log(`${this.kind.noun} ${name}: ${err.message}`));
  }

  /** Service shutdown: stop the runs without changing the jobs' statuses (they run again on restart). */
  async shutdown(): Promise<void> {
    for (const run of [...this.runs.values()]) run.stop('shutdown', 5_000);
    const deadline = Date.now() + 8_000;
    while (this.runs.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}
