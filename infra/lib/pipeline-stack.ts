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
import { stateChangeEvents } from './events';
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
      description:
        'SageMaker pipeline: roles (from iam/), bucket, image repository, log groups, worker service, state-change events',
      ...props,
    });
    const params = declareParameters(this);
    const roles = pipelineRoles(this, params, props.policyDir ?? POLICY_DIR);
    const bucket = pipelineBucket(this, params);
    const repository = imageRepository(this, params);
    jobLogGroups(this, params);
    // State-change events wake the steps (docs/events.md); the worker role's grant on the queue is in iam/.
    const stateChanges = stateChangeEvents(this);
    const service = workerService(this, params, roles.WorkerRole, stateChanges.queue.queueUrl);

    new CfnOutput(this, 'BucketNameOutput', { key: 'BucketName', value: bucket.bucketName });
    new CfnOutput(this, 'RepositoryUriOutput', { key: 'RepositoryUri', value: repository.repositoryUri });
    for (const [id, role] of Object.entries(roles)) new CfnOutput(this, `${id}Arn`, { value: role.roleArn });
    new CfnOutput(this, 'WorkerServiceName', { value: service.attrName });
    new CfnOutput(this, 'EventsQueueUrl', { key: 'EventsQueueUrl', value: stateChanges.queue.queueUrl });
    suppressReviewedFindings(this, props.policyDir ?? POLICY_DIR);
  }
}
