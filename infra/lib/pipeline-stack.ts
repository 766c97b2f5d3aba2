/**
 * The stack of what the pipeline needs but must not create itself: its three roles (policies from iam/), its
 * bucket, its image repository, its log groups, and the worker's ECS service. Everything variable is a parameter;
 * nothing is looked up at synthesis, so `npm run infra:synth` works without an AWS account.
 */
import { CfnOutput, DefaultStackSynthesizer, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { POLICY_DIR } from '../iam-roles';
import { STACK_NAME } from '../resource-ids';
import { suppressReviewedFindings } from './nag-suppressions';
import { declareParameters } from './parameters';
import { pipelineRoles } from './roles';
import { imageRepository, jobLogGroups, pipelineBucket } from './storage';
import { workerService } from './worker-service';

/** Options of the stack. */
export interface PipelineStackProps extends StackProps {
  /** Directory of the policy documents (default: the repository's iam/). */
  policyDir?: string;
}

export { STACK_NAME };

export class PipelineStack extends Stack {
  constructor(scope: Construct, id: string, props: PipelineStackProps = {}) {
    super(scope, id, {
      // No bootstrap stack: no asset, no version check, the CLI's own credentials deploy it.
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
      description: 'SageMaker pipeline: roles (from iam/), bucket, image repository, log groups, worker service',
      ...props,
    });
    const params = declareParameters(this);
    const roles = pipelineRoles(this, params, props.policyDir ?? POLICY_DIR);
    const bucket = pipelineBucket(this, params);
    const repository = imageRepository(this, params);
    jobLogGroups(this, params);
    const service = workerService(this, params, roles.WorkerRole);

    // Event delivery (a later change): the EventBridge rule for SageMaker's and CodeBuild's state-change events and
    // the SQS queue it delivers to go here, with the worker role's permission to receive from the queue.

    new CfnOutput(this, 'BucketNameOutput', { key: 'BucketName', value: bucket.bucketName });
    new CfnOutput(this, 'RepositoryUriOutput', { key: 'RepositoryUri', value: repository.repositoryUri });
    for (const [id, role] of Object.entries(roles)) new CfnOutput(this, `${id}Arn`, { value: role.roleArn });
    new CfnOutput(this, 'WorkerServiceName', { value: service.attrName });
    suppressReviewedFindings(this, props.policyDir ?? POLICY_DIR);
  }
}
