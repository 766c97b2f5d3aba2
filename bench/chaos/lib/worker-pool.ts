/** One child-process worker on a LocalHarness that a campaign SIGKILLs and restarts, started from a prebuilt bundle. */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from '../../../local/shared/procs';
import { bundleWorkflows } from '../../../worker/workflow-bundle';
import type { LocalHarness } from '../../../testing/local-harness';

export class KillableWorker {
  private child: ChildProcess;
  private n = 0;

  private constructor(
    private readonly h: LocalHarness,
    readonly taskQueue: string,
    private readonly env: Record<string, string>,
  ) {
    this.child = h.startWorker(taskQueue, `worker-${this.n}`, env).child;
  }

  /**
   * Bundles the workflows once into the state dir and starts the first worker from it: a restarted worker then
   * polls within seconds instead of re-bundling (which costs tens of CPU seconds on 2 cores) after every kill.
   * `env` is added to the stack's worker environment of every worker started.
   */
  static async start(h: LocalHarness, taskQueue: string, env: Record<string, string> = {}): Promise<KillableWorker> {
    const file = path.join(h.cfg.stateDir, 'workflow-bundle.js');
    fs.writeFileSync(file, await bundleWorkflows());
    return new KillableWorker(h, taskQueue, { ...env, WORKFLOW_BUNDLE_PATH: file });
  }

  /** SIGKILLs the worker's process group, waits `downMs`, and starts a fresh worker on the same task queue. */
  async killAndRestart(downMs = 1_000): Promise<void> {
    await this.h.killWorker(this.child);
    await sleep(downMs);
    this.n += 1;
    this.child = this.h.startWorker(this.taskQueue, `worker-${this.n}`, this.env).child;
  }

  /** SIGKILLs the worker and leaves it down (restart with `restart`). */
  async kill(): Promise<void> {
    await this.h.killWorker(this.child);
  }

  restart(): void {
    this.n += 1;
    this.child = this.h.startWorker(this.taskQueue, `worker-${this.n}`, this.env).child;
  }

  get restarts(): number {
    return this.n;
  }
}
