/**
 * `npm run cli -- rollout-check --from <current bundle> --to <new bundle>`: whether the new build may be ramped
 * (`set-ramping-version`) beside the current one. Under a ramp both builds take new workflow tasks, and Temporal
 * routes each AUTO_UPGRADE run by its own workflow ID: a run on the new build can start a child of a workflow type
 * only the new build registers (as prepareData and evaluateModel were in v4), and the ramp can route that child to
 * the current build's workers, which cannot run it; it then waits, its workflow task failing, until the new build is
 * current. So a build that adds workflow types is promoted with set-current-version directly, never ramped; a build
 * that drops a type is not shipped while a run of that type is open. docs/versioning.md, "Shipping a change, step by
 * step".
 */
import { bundleSourceHash, bundleWorkflowTypes } from '../workflow-version';

/** The verdict: lines to print, exit status 0 when a ramp is safe, 1 when the new build must not be ramped. */
export interface RolloutCheck {
  lines: string[];
  exitCode: number;
}

interface Build {
  path: string;
  buildId: string;
  types: string[] | undefined;
}

function readBuild(path: string): Build {
  return { path, buildId: bundleSourceHash(path) ?? '(no build header)', types: bundleWorkflowTypes(path) };
}

/** Compares the workflow types the two bundles register (their headers, written by `npm run build`). */
export function rolloutCheck(fromPath: string, toPath: string): RolloutCheck {
  const from = readBuild(fromPath);
  const to = readBuild(toPath);
  const pair = `${from.buildId} -> ${to.buildId}`;
  const missing = [from, to].filter((b) => b.types === undefined);
  if (missing.length)
    return {
      lines: [
        `rollout-check ${pair}: cannot tell which workflow types ${missing.map((b) => `${b.path} (build ${b.buildId})`).join(' and ')} register${missing.length === 1 ? 's' : ''}: built before bundles named their workflow types (rebuild with \`npm run build\`).`,
        'Do not ramp: promote with `temporal worker deployment set-current-version` directly.',
      ],
      exitCode: 1,
    };
  const before = new Set(from.types);
  const after = new Set(to.types);
  const added = [...after].filter((t) => !before.has(t));
  const removed = [...before].filter((t) => !after.has(t));
  if (added.length === 0 && removed.length === 0)
    return {
      lines: [
        `rollout-check ${pair}: both builds register the same workflow types (${[...after].join(', ')}); a ramp is safe.`,
      ],
      exitCode: 0,
    };
  const lines = [`rollout-check ${pair}: do not ramp.`];
  if (added.length) {
    const query = `WorkflowType IN (${added.map((t) => `'${t}'`).join(', ')})`;
    lines.push(
      `  adds workflow type(s) ${added.join(', ')}: under a ramp a run on ${to.buildId} can start one as a child that is routed to ${from.buildId}'s workers, which cannot run it (it waits until ${to.buildId} is current).`,
      `  Promote with \`temporal worker deployment set-current-version --build-id ${to.buildId}\` directly. Roll back to ${from.buildId} only when no run of these types is open: npm run cli -- list --status running --query "${query}"`,
    );
  }
  if (removed.length) {
    const query = `WorkflowType IN (${removed.map((t) => `'${t}'`).join(', ')})`;
    lines.push(
      `  drops workflow type(s) ${removed.join(', ')}: an open run of one would have no worker once ${to.buildId} is current. Ship this build only when none is open: npm run cli -- list --status running --query "${query}"`,
    );
  }
  return { lines, exitCode: 1 };
}
