/**
 * CodeBuild rules its model cannot express: ListBuildsForProject refuses a sort order once the project has more
 * than 100 builds (without one, builds come newest first).
 */
import { AwsError } from '../protocol';
import type { RuleCheck } from './rule';

/** The most builds a project may have for ListBuildsForProject to accept `sortOrder`. */
export const SORTABLE_BUILDS = 100;

/** ListBuildsForProject with `sortOrder` on a project with more than 100 builds is an error. */
export const listBuildsSortOrder: RuleCheck = ({ body }, state) => {
  if (body.sortOrder === undefined || typeof body.projectName !== 'string') return;
  const builds = state.projectBuildCount(body.projectName) ?? 0;
  if (builds > SORTABLE_BUILDS)
    throw new AwsError(
      'InvalidInputException',
      `sortOrder cannot be used: project ${body.projectName} has ${builds} builds, more than ${SORTABLE_BUILDS}. Leave sortOrder out (builds are listed newest first).`,
    );
};
