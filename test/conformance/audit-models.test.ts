/**
 * The services the worker calls that moto serves (ECR, CloudWatch, CloudWatch Logs, Application Auto Scaling, S3)
 * are not imitated by this project; their requests are judged by the request audit (worker/request-audit.ts), whose
 * judge is the model validator. Here the judge refuses what each operation's API reference documents as refused,
 * with the service's error code (CloudWatch Logs answers InvalidParameterException) and the member named.
 */
import { validateInput } from '../../local/service/core/aws-models/validate-request';
import { constraintAt } from './conformance-service';

const ECR = 'https://docs.aws.amazon.com/AmazonECR/latest/APIReference';
const CW = 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference';
const LOGS = 'https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference';
const AAS = 'https://docs.aws.amazon.com/autoscaling/application/APIReference';
const S3 = 'https://docs.aws.amazon.com/AmazonS3/latest/API';
const alarm = {
  AlarmName: 'ep-5xx',
  MetricName: 'Invocation5XXErrors',
  Namespace: 'AWS/SageMaker',
  Statistic: 'Sum',
  Period: 60,
  EvaluationPeriods: 1,
  Threshold: 0,
  ComparisonOperator: 'GreaterThanThreshold',
};

test.each([
  {
    service: 'ecr',
    operation: 'CreateRepository',
    doc: `${ECR}/API_CreateRepository.html`,
    input: { repositoryName: 'Upper/Case' },
    code: 'ValidationException',
    path: 'repositoryName',
    constraint: /^Member must satisfy regular expression pattern/,
  },
  {
    service: 'ecr',
    operation: 'DescribeImages',
    doc: `${ECR}/API_DescribeImages.html`,
    input: { repositoryName: 'r', imageIds: [] },
    code: 'ValidationException',
    path: 'repositoryName',
    constraint: /^Member must have length greater than or equal to 2$/,
  },
  {
    service: 'ecr',
    operation: 'PutImage',
    doc: `${ECR}/API_PutImage.html`,
    input: { repositoryName: 'repo' },
    code: 'ValidationException',
    path: 'imageManifest',
    constraint: /^Member must not be null$/,
  },
  {
    service: 'cloudwatch',
    operation: 'PutMetricAlarm',
    doc: `${CW}/API_PutMetricAlarm.html`,
    input: { ...alarm, Statistic: 'Total' },
    code: 'ValidationException',
    path: 'statistic',
    constraint: /^Member must satisfy enum value set/,
  },
  {
    service: 'cloudwatch',
    operation: 'PutMetricAlarm',
    doc: `${CW}/API_PutMetricAlarm.html`,
    input: { ...alarm, AlarmName: 'a'.repeat(256) },
    code: 'ValidationException',
    path: 'alarmName',
    constraint: /^Member must have length less than or equal to 255$/,
  },
  {
    service: 'cloudwatch',
    operation: 'SetAlarmState',
    doc: `${CW}/API_SetAlarmState.html`,
    input: { AlarmName: 'a', StateValue: 'FIRING', StateReason: 'r' },
    code: 'ValidationException',
    path: 'stateValue',
    constraint: /^Member must satisfy enum value set/,
  },
  {
    service: 'logs',
    operation: 'GetLogEvents',
    doc: `${LOGS}/API_GetLogEvents.html`,
    input: { logGroupName: 'g', logStreamName: 'a:b' },
    code: 'InvalidParameterException',
    path: 'logStreamName',
    constraint: /^Member must satisfy regular expression pattern: \[\^:\*\]\*$/,
  },
  {
    service: 'logs',
    operation: 'DescribeLogStreams',
    doc: `${LOGS}/API_DescribeLogStreams.html`,
    input: { logGroupName: 'g', limit: 51 },
    code: 'InvalidParameterException',
    path: 'limit',
    constraint: /^Member must have value less than or equal to 50$/,
  },
  {
    service: 'application-autoscaling',
    operation: 'RegisterScalableTarget',
    doc: `${AAS}/API_RegisterScalableTarget.html`,
    input: { ServiceNamespace: 'sagemaker', ResourceId: 'endpoint/e/variant/v' },
    code: 'ValidationException',
    path: 'scalableDimension',
    constraint: /^Member must not be null$/,
  },
  {
    service: 'application-autoscaling',
    operation: 'PutScalingPolicy',
    doc: `${AAS}/API_PutScalingPolicy.html`,
    input: {
      PolicyName: 'p',
      ServiceNamespace: 'sagemaker',
      ResourceId: 'endpoint/e/variant/v',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      PolicyType: 'TargetTracking',
    },
    code: 'ValidationException',
    path: 'policyType',
    constraint: /^Member must satisfy enum value set/,
  },
  {
    service: 's3',
    operation: 'HeadObject',
    doc: `${S3}/API_HeadObject.html`,
    input: { Bucket: 'b', Key: '' },
    code: 'ValidationException',
    path: 'key',
    constraint: /^Member must have length greater than or equal to 1$/,
  },
])(
  '$service $operation: the audit refuses what $doc refuses',
  ({ service, operation, input, code, path, constraint }) => {
    const v = validateInput(service, operation, input);
    expect(v.error?.code).toBe(code);
    expect(constraintAt(v.error?.message ?? '', path)).toMatch(constraint);
  },
);
