/**
 * The worker's runtime: an ECS cluster and a Fargate service running the worker image in an existing VPC, as the
 * worker role (its task role). Temporal's address and namespace are parameters; the Temporal API key and the
 * payload-encryption key come from Secrets Manager (ECS injects them as TEMPORAL_API_KEY and PAYLOAD_ENCRYPTION_KEY,
 * the variables worker/config.ts and worker/payload-codec.ts read), each only when its parameter names a secret.
 * Plain CloudFormation resources (L1): the VPC and subnets are parameters, so there is nothing to look up.
 */
import { Aws, Fn, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { WORKER_RUNTIME_IDS as IDS } from '../resource-ids';
import type { StackParameters } from './parameters';

/** Fargate size of one worker: the capacity bar is 1,000 waiting pipelines under 1 vCPU and 1 GiB. */
export const WORKER_CPU = '1024';
export const WORKER_MEMORY_MIB = '2048';
/** SIGTERM to SIGKILL: the worker drains its in-flight activities in this time (Fargate's maximum is 120 s). */
export const WORKER_STOP_TIMEOUT_S = 120;

/** The cluster, task definition and service of the worker; `workerRole` is the task role. */
export function workerService(
  scope: Construct,
  params: StackParameters,
  workerRole: iam.IRole,
  eventsQueueUrl?: string,
): ecs.CfnService {
  const logGroup = new logs.CfnLogGroup(scope, IDS.logGroup, {
    retentionInDays: Token.asNumber(params.logRetentionDays.valueAsNumber),
  });
  logGroup.applyRemovalPolicy(RemovalPolicy.DESTROY);

  const repositoryArn = Fn.sub(
    'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${WorkerImageRepository}',
  );
  // What ECS needs to start the task (pull the image, ship its logs, read the secrets named); the worker's own calls
  // run under workerRole. Plain CloudFormation, so a secret's statement can exist only when its parameter is set.
  const secretStatement = (condition: StackParameters['hasPayloadKey'], sid: string, arn: string) =>
    Fn.conditionIf(
      condition.logicalId,
      { Sid: sid, Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: arn },
      Aws.NO_VALUE,
    );
  const executionRole = new iam.CfnRole(scope, IDS.executionRole, {
    description: 'ECS pulls the worker image, ships its logs and reads its secrets with this role',
    assumeRolePolicyDocument: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    },
    policies: [
      {
        policyName: 'pull-log-and-read-secrets',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Sid: 'EcrLogin', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
            {
              Sid: 'PullTheWorkerImage',
              Effect: 'Allow',
              Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
              Resource: repositoryArn,
            },
            {
              Sid: 'WorkerLogs',
              Effect: 'Allow',
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: logGroup.attrArn,
            },
            secretStatement(
              params.hasTemporalApiKey,
              'ReadTemporalApiKey',
              params.temporalApiKeySecretArn.valueAsString,
            ),
            secretStatement(params.hasPayloadKey, 'ReadPayloadKey', params.payloadKeySecretArn.valueAsString),
          ],
        },
      },
    ],
  });

  const cluster = new ecs.CfnCluster(scope, IDS.cluster, {
    clusterSettings: [{ name: 'containerInsights', value: 'enabled' }],
  });
  const env = (name: string, value: string) => ({ name, value });
  const secret = (condition: StackParameters['hasPayloadKey'], name: string, valueFrom: string) =>
    Fn.conditionIf(condition.logicalId, { Name: name, ValueFrom: valueFrom }, Aws.NO_VALUE);
  const taskDefinition = new ecs.CfnTaskDefinition(scope, IDS.taskDefinition, {
    family: Fn.join('-', [Aws.STACK_NAME, 'worker']),
    requiresCompatibilities: ['FARGATE'],
    networkMode: 'awsvpc',
    cpu: WORKER_CPU,
    memory: WORKER_MEMORY_MIB,
    runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
    taskRoleArn: workerRole.roleArn,
    executionRoleArn: executionRole.attrArn,
    containerDefinitions: [
      {
        name: 'worker',
        image: Fn.sub(
          '${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${WorkerImageRepository}:${WorkerImageTag}',
        ),
        essential: true,
        readonlyRootFilesystem: false,
        stopTimeout: WORKER_STOP_TIMEOUT_S,
        environment: [
          env('TEMPORAL_ADDRESS', params.temporalAddress.valueAsString),
          env('TEMPORAL_NAMESPACE', params.temporalNamespace.valueAsString),
          env('TEMPORAL_TASK_QUEUE', params.temporalTaskQueue.valueAsString),
          env('TEMPORAL_WORKER_DEPLOYMENT', params.workerDeploymentName.valueAsString),
          env('PAYLOAD_ENCRYPTION_KEY_ID', params.payloadKeyId.valueAsString),
          env('AWS_REGION', Aws.REGION),
          ...(eventsQueueUrl ? [env('PIPELINE_EVENTS_QUEUE_URL', eventsQueueUrl)] : []),
        ],
        secrets: [
          secret(params.hasTemporalApiKey, 'TEMPORAL_API_KEY', params.temporalApiKeySecretArn.valueAsString),
          secret(params.hasPayloadKey, 'PAYLOAD_ENCRYPTION_KEY', params.payloadKeySecretArn.valueAsString),
        ] as unknown as ecs.CfnTaskDefinition.SecretProperty[],
        logConfiguration: {
          logDriver: 'awslogs',
          options: {
            'awslogs-group': logGroup.ref,
            'awslogs-region': Aws.REGION,
            'awslogs-stream-prefix': 'worker',
          },
        },
      },
    ],
  });
  // The worker only calls out (Temporal, AWS APIs): no inbound rule.
  const securityGroup = new ec2.CfnSecurityGroup(scope, IDS.securityGroup, {
    groupDescription: 'Pipeline worker tasks: outbound only',
    vpcId: params.vpcId.valueAsString,
    securityGroupEgress: [
      { ipProtocol: 'tcp', fromPort: 443, toPort: 443, cidrIp: '0.0.0.0/0', description: 'AWS APIs, Temporal Cloud' },
      { ipProtocol: 'tcp', fromPort: 7233, toPort: 7233, cidrIp: '0.0.0.0/0', description: 'Temporal frontend' },
    ],
  });

  return new ecs.CfnService(scope, IDS.service, {
    cluster: cluster.ref,
    taskDefinition: taskDefinition.ref,
    launchType: 'FARGATE',
    desiredCount: Token.asNumber(params.workerDesiredCount.valueAsNumber),
    // A rolling update starts the new task before the old one stops; a failing deployment rolls back.
    deploymentConfiguration: {
      minimumHealthyPercent: 100,
      maximumPercent: 200,
      deploymentCircuitBreaker: { enable: true, rollback: true },
    },
    propagateTags: 'SERVICE',
    enableEcsManagedTags: true,
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: params.subnetIds.valueAsList,
        securityGroups: [securityGroup.attrGroupId],
        assignPublicIp: params.assignPublicIp.valueAsString,
      },
    },
  });
}
