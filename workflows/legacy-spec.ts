/**
 * The spec as a running workflow validates it: rules added since a run started apply to new runs only, each under the
 * patch it shipped with, so a run recorded before a rule replays on the path it took. The only module that knows
 * which spec rules are newer than the runs still open.
 */
import { ApplicationFailure, deprecatePatch, patched } from '@temporalio/workflow';
import { ErrorType } from '../contracts/errors';
import type { PipelineSpec } from '../contracts/pipeline-spec';
import { formatIssues, type NewerRule, newerSpecIssues, type SpecIssue, validateSpec } from '../contracts/validation';
import { PATCH } from './patches';

/**
 * Whether this run applies a newer rule, asked only when the spec breaks it (a valid spec records no marker).
 * Retired patches: every run open took the new path, so the rule applies and the call keeps the marker's place.
 */
const NEWER_RULE_APPLIES: Record<NewerRule, () => boolean> = {
  rollbackPeriodWholeMinutes: () => {
    deprecatePatch(PATCH.rollbackPeriodWholeMinutes);
    return true;
  },
  tuningEnvironmentLimit: () => patched(PATCH.tuningEnvironmentLimit),
};

const CODEBUILD_ROLE_PATH = '$.image.codeBuild.serviceRoleArn';

/** Validates the spec or fails the workflow, before any activity runs, listing every bad field. */
export function parseSpecOrFail(raw: unknown): PipelineSpec {
  const result = validateSpec(raw, { legacy: true });
  if (result.ok) {
    const newer = newerSpecIssues(result.spec).filter((i) => NEWER_RULE_APPLIES[i.rule]());
    if (newer.length === 0) return result.spec;
    return refuse(newer.map(({ path, message }) => ({ path, message })));
  }
  // Retired: runs from before image.codeBuild.serviceRoleArn was required (v1, v2) went on without the role; the
  // marker is still asked where it was, only when the role is the spec's one fault.
  if (result.issues.every((i) => i.path === CODEBUILD_ROLE_PATH)) deprecatePatch(PATCH.codeBuildServiceRoleRequired);
  return refuse(result.issues);
}

function refuse(issues: SpecIssue[]): never {
  throw ApplicationFailure.create({
    type: ErrorType.SpecInvalid,
    nonRetryable: true,
    message: `Invalid pipeline spec (${issues.length} field(s)):\n${formatIssues(issues)}`,
    details: [issues],
  });
}
