/**
 * Reading a run's search attributes: the pipeline's own (contracts/search-attributes.ts) and the ones Temporal sets
 * from the worker's version (BuildIds; with Worker Versioning TemporalWorkerDeploymentVersion and
 * TemporalUsedWorkerDeploymentVersions).
 */
import type { SearchAttributes } from '@temporalio/common';

/** The first value of a search attribute, as text. */
export function searchAttribute(sa: SearchAttributes | undefined, name: string): string | undefined {
  const v = sa?.[name]?.[0];
  return v === undefined || v === null ? undefined : String(v);
}

/** Every build ID the run's tasks ran on, oldest first: `unversioned:<id>`, `pinned:<deployment>:<id>` ... */
export function buildIds(sa: SearchAttributes | undefined): string[] {
  return (sa?.BuildIds ?? []).map((v) => String(v).split(':').pop() as string).filter((v, i, a) => a.indexOf(v) === i);
}

/**
 * The version a run is on: its Worker Deployment Version when it runs under Worker Versioning, else the build ID of
 * the last worker that ran its tasks; earlier builds it ran on are listed after it.
 */
export function runVersion(sa: SearchAttributes | undefined): string {
  const deployment = searchAttribute(sa, 'TemporalWorkerDeploymentVersion');
  const behaviour = searchAttribute(sa, 'TemporalWorkflowVersioningBehavior');
  const builds = buildIds(sa);
  const current = deployment?.split(':').pop() ?? builds[builds.length - 1];
  if (!current) return 'unknown (no task ran yet)';
  const earlier = builds.filter((b) => b !== current);
  return `${current}${deployment ? ` (${deployment}, ${behaviour ?? 'versioned'})` : ''}${earlier.length ? ` (earlier: ${earlier.join(', ')})` : ''}`;
}
