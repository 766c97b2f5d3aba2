/** The local service's state as the documented rules read it (core/documented-rules/rule.ts RuleState). */
import type { ScalableTargets } from './application-autoscaling/scalable-targets';
import type { CodeBuild } from './codebuild/codebuild';
import type { Ctx } from './core/context';
import type { RuleState } from './core/documented-rules';
import { channelFingerprint } from './core/s3-files';
import type { Endpoints } from './sagemaker/endpoints';
import type { Registry } from './sagemaker/model-registry';
import type { Processing } from './sagemaker/jobs/processing/processing';
import type { Tags } from './sagemaker/tags';
import type { Training } from './sagemaker/jobs/training/training';
import type { Tuning } from './sagemaker/tuning';

export interface StateParts {
  ctx: Ctx;
  tags: Tags;
  training: Training;
  processing: Processing;
  tuning: Tuning;
  endpoints: Endpoints;
  registry: Registry;
  scalableTargets: ScalableTargets;
  codebuild: CodeBuild;
}

/** Read-only views over the parts of the service the rules need. */
export function ruleState(p: StateParts): RuleState {
  return {
    trainingJobStatus: (name) => p.training.jobs.get(name)?.TrainingJobStatus,
    processingJobStatus: (name) => p.processing.jobs.get(name)?.ProcessingJobStatus,
    tuningJob: (name) => p.tuning.view(name),
    endpoint: (name) => {
      const e = p.endpoints.endpoints.get(name);
      return e && { status: e.EndpointStatus, arn: e.EndpointArn, configName: e.EndpointConfigName };
    },
    endpointConfigVariants: (configName) =>
      p.endpoints.models.configs.get(configName)?.ProductionVariants.map((variant) => ({
        VariantName: variant.VariantName,
        InstanceType: variant.InstanceType,
        InitialInstanceCount: variant.InitialInstanceCount,
      })),
    scalableVariants: (endpointName) => p.scalableTargets.scalableVariants(endpointName),
    scalableTarget: (ServiceNamespace, ResourceId, ScalableDimension) => {
      const t = p.scalableTargets.targets.get(`${ServiceNamespace}|${ResourceId}|${ScalableDimension}`);
      return t && { MinCapacity: t.MinCapacity, MaxCapacity: t.MaxCapacity };
    },
    tags: (arn) => p.tags.get(arn),
    modelPackageMetadata: (arn) => p.registry.metadata(arn),
    projectBuildCount: (projectName) => p.codebuild.buildCount(projectName),
    channelFingerprint: (channels) => channelFingerprint(p.ctx.moto.s3, channels),
  };
}
