/**
 * Every activity the worker registers, built from injected dependencies. Each AWS area contributes its own
 * factory; workflows import the type only (`ReturnType<typeof createActivities>`).
 */
import { createBuildContextActivities } from './build-context';
import { createCodeBuildActivities } from './codebuild';
import type { ActivityDeps } from './deps';
import { createEcrActivities } from './ecr';
import { createLogsActivities } from './logs';
import { createS3SyncActivities } from './s3-sync';
import { createTrainingActivities } from './training';
import { createProcessingActivities } from './processing';
import { createTransformActivities } from './transform';
import { createEvaluationActivities } from './evaluation';
import { createTuningActivities } from './tuning';
import { createRegistryActivities } from './registry';
import { createHostingActivities } from './hosting';
import { createAccountPreflightActivities } from './account-preflight';
import { createAlarmActivities } from './alarms';
import { createAutoscalingActivities } from './autoscaling';
import { createDashboardActivities } from './dashboards';
import { createPreviousRunActivities } from './previous-run';
import { createRegionActivities } from './region';
import { createRunReportActivities } from './run-report';
import { createUserCodeActivities } from './user-code';
import { createWorkflowRunActivities } from './workflow-runs';

export type { ActivityDeps, AwsClients } from './deps';

/** All activity functions, keyed by the names workflows call them by. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createBuildContextActivities(deps),
    ...createEcrActivities(deps),
    ...createCodeBuildActivities(deps),
    ...createS3SyncActivities(deps),
    ...createTrainingActivities(deps),
    ...createProcessingActivities(deps),
    ...createTransformActivities(deps),
    ...createEvaluationActivities(deps),
    ...createLogsActivities(deps),
    ...createTuningActivities(deps),
    ...createRegistryActivities(deps),
    ...createHostingActivities(deps),
    ...createAlarmActivities(deps),
    ...createAutoscalingActivities(deps),
    ...createDashboardActivities(deps),
    ...createPreviousRunActivities(deps),
    ...createRegionActivities(deps),
    ...createAccountPreflightActivities(deps),
    ...createUserCodeActivities(deps),
    ...createWorkflowRunActivities(),
    ...createRunReportActivities(deps),
  };
}
