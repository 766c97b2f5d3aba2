/**
 * A job's running hosts and how a stop reaches them, shared by training and processing runs: SIGTERM now, SIGKILL
 * after the grace period (SageMaker's StopTrainingJob and StopProcessingJob: 120 s). The first stop's reason is the
 * one the job reports.
 */
import type { HostHandle } from '../../executors/types';

export class JobHosts<Reason extends string> {
  /** The hosts started so far (none until the run starts them). */
  handles: HostHandle[] = [];
  /** Why the job was stopped, once it was. */
  reason: Reason | undefined;
  private killTimer: NodeJS.Timeout | undefined;

  /** Stops the hosts: SIGTERM now, SIGKILL after `graceMs`. Safe to call again (hosts started since get SIGTERM). */
  stop(reason: Reason, graceMs: number): void {
    this.reason ??= reason;
    for (const host of this.handles) host.kill('SIGTERM');
    if (this.killTimer) return;
    this.killTimer = setTimeout(() => {
      for (const host of this.handles) host.kill('SIGKILL');
    }, graceMs);
    this.killTimer.unref();
  }

  /** The run is over: no SIGKILL is left pending. */
  settle(): void {
    if (this.killTimer) clearTimeout(this.killTimer);
  }
}
