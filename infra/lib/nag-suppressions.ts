/**
 * The cdk-nag findings the stack keeps, each acknowledged with its reason. The wildcard resources of the three
 * roles come from iam/: every one must match a reason below, so a wildcard added to iam/ without one fails synthesis.
 */
import { type Stack, Validations } from 'aws-cdk-lib';
import { PIPELINE_ROLES, deployedResource } from '../iam-roles';
import { WORKER_RUNTIME_IDS } from '../resource-ids';
import { readPolicyFile } from './roles';

/** Why a wildcard resource of iam/ is as narrow as it can be (matched against the resource as iam/ writes it). */
export const WILDCARD_REASONS: readonly { match: RegExp; reason: string }[] = [
  {
    match: /^\*$/,
    reason:
      'Actions that take no resource ARN (Service Authorization Reference): ecr:GetAuthorizationToken, ' +
      'sagemaker:ListHyperParameterTuningJobs and ListModelPackages, the Application Auto Scaling calls, and ' +
      'cloudwatch:PutMetricData (limited by its cloudwatch:namespace condition)',
  },
  {
    match: /^arn:aws:sagemaker:\*:\*:[a-z-]+\/\*$|^arn:aws:sagemaker:\*:\*:\*$/,
    reason:
      'SageMaker resource names are derived per run (contracts/names.ts: workflow ID, step and a hash), so ' +
      'they cannot be listed ahead; stop, update, delete and tag are further limited to resources carrying the ' +
      'pipeline:workflow-id tag or to the Create call that tags them (sagemaker:TaggingAction)',
  },
  {
    match: /^arn:aws:s3:::[^/]+\/(pipelines\/\*|pipelines\/\*\/build-contexts\/\*|lm\/\*)$/,
    reason:
      "Objects under the pipeline's own prefix (pipelines/<pipelineName>/...) of its own bucket, or the " +
      "dataset's prefix of the dataset bucket: keys carry run-specific names",
  },
  {
    match:
      /^arn:aws:s3:::[^/]+\/pipelines\/\*\/(models|checkpoints|prepared)\/\*$|^arn:aws:s3:::[^/]+\/pipelines\/\*\/evaluations\/\*\/output\/\*$/,
    reason:
      'Where SageMaker jobs write their outputs (contracts/pipeline-plan.ts): model artifacts, checkpoints, ' +
      'prepared data and batch-transform outputs under pipelines/<pipelineName>/ of the pipeline bucket; the ' +
      'segments left as * are the pipeline name and the run- and job-specific names below the kind of output',
  },
  {
    match: /^arn:aws:servicequotas:\*:\*:sagemaker\/\*$/,
    reason:
      "SageMaker's quotas only (Service Quotas quota ARN: <ServiceCode>/<QuotaCode>): the preflight reads the " +
      'quota of each instance type a spec names, and its quota code is looked up by name (ListServiceQuotas)',
  },
  {
    match: /^arn:aws:application-autoscaling:\*:\*:scalable-target\/\*$/,
    reason:
      'Scalable-target ARNs end in an ID Application Auto Scaling assigns at registration, so they cannot be ' +
      'named ahead; the application-autoscaling:service-namespace and scalable-dimension conditions limit the ' +
      "calls to SageMaker endpoint variants' instance counts",
  },
  {
    match: /^arn:aws:logs:\*:\*:log-group:\/aws\/(sagemaker|codebuild)\/[^:]*(:\*)?$/,
    reason:
      'The log groups SageMaker and CodeBuild write to (/aws/sagemaker/<JobType>, /aws/codebuild/<project>): ' +
      'streams are named per job and host by the service (log-stream ARNs end in :*)',
  },
  {
    match: /^arn:aws:cloudwatch:\*:\*:alarm:\*(-rollback-\*)?$/,
    reason:
      'Alarm names are derived per endpoint (<endpoint>-rollback-<metric>): writes are limited to those; ' +
      'reads cover the alarms a spec names for its rollback',
  },
  {
    match: /^arn:aws:cloudwatch::\*:dashboard\/sagemaker-endpoint-\*$/,
    reason:
      'Dashboards are named per endpoint (sagemaker-endpoint-<endpoint>, activities/dashboards.ts): writes are ' +
      'limited to that prefix; dashboard ARNs carry no region (Service Authorization Reference)',
  },
  {
    match: /^arn:aws:codebuild:\*:\*:project\/\*-image-build$/,
    reason: 'One CodeBuild project per pipeline, named <pipelineName>-image-build (contracts/names.ts)',
  },
  {
    match: /^arn:aws:iam::\*:role\/aws-service-role\/sagemaker\.application-autoscaling\.amazonaws\.com\/\*$/,
    reason:
      "Application Auto Scaling's service-linked role for SageMaker (its suffix is AWS's), limited by the " +
      'iam:AWSServiceName condition',
  },
];

/** A deployed resource as cdk-nag names it in a finding: `${X}` becomes `<X>`. */
function nagForm(resource: string): string {
  return resource.replace(/\$\{([^}]+)\}/g, '<$1>');
}

/** Acknowledges every finding the stack keeps, with its reason. */
export function suppressReviewedFindings(stack: Stack, policyDir: string): void {
  for (const role of PIPELINE_ROLES) {
    const construct = stack.node.findChild(`${role.id}Policy`).node.findChild('Resource');
    const wildcards = new Set(
      readPolicyFile(policyDir, role.policyFile)
        .Statement.flatMap((s) => [s.Resource ?? []].flat())
        .filter((r) => r.includes('*')),
    );
    for (const resource of wildcards) {
      const reason = WILDCARD_REASONS.find((w) => w.match.test(resource))?.reason;
      if (!reason) continue; // left to cdk-nag: a new wildcard needs its reason here
      Validations.of(construct).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::${nagForm(deployedResource(resource))}]`,
        reason: `${role.policyFile}: ${reason}`,
      });
    }
  }
  Validations.of(stack.node.findChild(WORKER_RUNTIME_IDS.executionRole)).acknowledge({
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
    reason: 'ecr:GetAuthorizationToken takes no resource ARN (Service Authorization Reference)',
  });
  Validations.of(stack.node.findChild(WORKER_RUNTIME_IDS.taskDefinition)).acknowledge({
    id: 'AwsSolutions::AwsSolutions-ECS2',
    reason:
      "The environment holds no secret: Temporal's address, namespace and task queue, the deployment name, the " +
      'region and the ID of the payload key; the API key and the payload key come from Secrets Manager',
  });
}
