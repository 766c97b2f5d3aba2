/**
 * A request, as every JSON-shaped API sees it (service prefix, operation, body), turned into the authorizations AWS
 * performs for it: the action (`<prefix>:<Operation>`) on each resource the request names (action-resources.ts),
 * with the request's condition keys (aws:RequestTag/*, aws:TagKeys and the service keys our policies use), plus the
 * checks AWS documents on top:
 *  - iam:PassRole on every role a request hands to a service (RoleArn, ExecutionRoleArn, serviceRole), with
 *    iam:PassedToService (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html);
 *  - tagging on create: a SageMaker Create* with Tags is also an sagemaker:AddTags with sagemaker:TaggingAction
 *    (the Service Authorization Reference's condition key: "the name of the API operation that creates a taggable
 *    resource"); PutMetricAlarm with Tags needs cloudwatch:TagResource
 *    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html: "If you are using
 *    this operation to create a new alarm with tags, you must have cloudwatch:TagResource");
 *  - registering a SageMaker variant with Application Auto Scaling needs sagemaker:DescribeEndpoint,
 *    sagemaker:UpdateEndpointWeightsAndCapacities and the service-linked role
 *    (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-prerequisites.html).
 * The S3 REST API and the Runtime's path have their own readers (s3-checks.ts, gateway.ts); query-protocol bodies
 * are turned into this shape first (query-body.ts).
 */
import { ACCOUNT_ID, REGION } from '../../shared/account';
import { actionShape, arnService, fillTemplate, type VariableReader } from './action-resources';
import type { AuthCheck } from './authorizer';
import { CODEBUILD_SERVICE, SAGEMAKER_SERVICE } from './policies';

/** A request body in JSON form. */
export type RequestBody = Record<string, unknown>;

/** One API call: the IAM service prefix (`sagemaker`, `ecr`, ...), the operation and its parameters. */
export interface ApiCall {
  prefix: string;
  operation: string;
  body: RequestBody;
}

/** Operations AWS authorizes without any permission. */
const NO_PERMISSION_NEEDED = new Set(['sts:GetCallerIdentity']);

/** Request fields that hold a template variable under another name, per service. */
const ALIASES: Record<string, Record<string, string[]>> = {
  codebuild: { ProjectName: ['projectName', 'name', 'names', 'ids', 'id'] },
  logs: { LogGroupName: ['logGroupName', 'logGroupIdentifier'], LogStreamName: ['logStreamName'] },
  cloudwatch: { AlarmName: ['AlarmName', 'AlarmNames'], DashboardName: ['DashboardName', 'DashboardNames'] },
  // SimulatePrincipalPolicy is authorized against the principal it simulates (PolicySourceArn).
  iam: {
    RoleNameWithPath: ['RoleName', 'PolicySourceArn'],
    UserNameWithPath: ['UserName'],
    PolicyNameWithPath: ['PolicyName'],
  },
};

/** CloudWatch Logs authorizes log-group actions against `log-group:<name>:*`, except the tagging ones. */
const LOGS_BARE_GROUP_ARN = new Set(['TagResource', 'UntagResource', 'ListTagsForResource']);

/** The service principal a role passed in a request is handed to. */
const PASSED_TO: Record<string, string> = { sagemaker: SAGEMAKER_SERVICE, codebuild: CODEBUILD_SERVICE };
const ROLE_FIELDS = new Set(['RoleArn', 'ExecutionRoleArn', 'serviceRole']);

const strings = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

function field(body: RequestBody, name: string): unknown {
  if (name in body) return body[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(body)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Reads template variables from a body: the field of that name (or its plural), else the service's aliases. */
function reader(prefix: string, operation: string, body: RequestBody): VariableReader {
  return (variable) => {
    const names = ALIASES[prefix]?.[variable] ?? [variable, `${variable}s`];
    for (const n of names) {
      let values = strings(field(body, n));
      if (!values.length) continue;
      if (prefix === 'codebuild' && (n === 'ids' || n === 'id')) values = values.map((id) => id.split(':')[0] ?? id);
      if (prefix === 'logs' && n === 'logGroupIdentifier')
        values = values.map((v) => (v.startsWith('arn:') ? (v.split(':log-group:')[1] ?? v).replace(/:\*$/, '') : v));
      // SageMaker's ARNs carry resource names in lower case (MyJob → training-job/myjob), so do the ARNs we authorize.
      if (prefix === 'sagemaker') values = values.map((v) => (v.startsWith('arn:') ? v : v.toLowerCase()));
      return values;
    }
    if (prefix === 'sqs' && variable === 'QueueName') {
      // SQS names the queue by its URL (https://sqs.<region>.amazonaws.com/<account>/<name>): the name is its last
      // segment, as in the queue's ARN.
      const url = strings(field(body, 'QueueUrl'))[0];
      const name = url?.split('/').pop();
      return name ? [name] : undefined;
    }
    if (prefix === 'sagemaker' && operation === 'CreateModelPackage' && variable === 'ModelPackageName') {
      // A version in a group: its name (group/N) is assigned by SageMaker.
      const group = strings(field(body, 'ModelPackageGroupName'))[0];
      return group ? [`${group}/*`] : undefined;
    }
    return undefined;
  };
}

/** The ARNs of a template: a variable holding a whole ARN of the service stands for the resource itself. */
function arnsOf(template: string, read: VariableReader): string[] {
  const vars = [...template.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1] as string);
  for (const v of vars) {
    const values = ['Partition', 'Region', 'Account'].includes(v) ? undefined : read(v);
    if (values?.length && values.every((x) => x.startsWith(`arn:aws:${arnService(template)}:`))) return values;
  }
  return fillTemplate(template, read);
}

/** Whether a template can be filled from the request alone (every variable present). */
function resolvable(template: string, read: VariableReader): boolean {
  return [...template.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].every(
    (m) => ['Partition', 'Region', 'Account'].includes(m[1] as string) || (read(m[1] as string)?.length ?? 0) > 0,
  );
}

/**
 * aws:RequestTag/<key> and aws:TagKeys from the request's tags (a Key/Value list or a map, any casing); for a request
 * that removes tags (SageMaker's DeleteTags, UntagResource), aws:TagKeys from the keys it names.
 */
export function requestTagContext(body: RequestBody): Record<string, string | string[]> {
  const removed = strings(field(body, 'TagKeys'));
  if (removed.length) return { 'aws:TagKeys': removed };
  const raw = field(body, 'Tags');
  const pairs: [string, string][] = [];
  if (Array.isArray(raw)) {
    for (const t of raw) {
      if (!t || typeof t !== 'object') continue;
      const o = t as Record<string, unknown>;
      const k = o.Key ?? o.key;
      if (typeof k === 'string') pairs.push([k, String(o.Value ?? o.value ?? '')]);
    }
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) pairs.push([k, String(v ?? '')]);
  }
  if (!pairs.length) return {};
  const ctx: Record<string, string | string[]> = { 'aws:TagKeys': pairs.map(([k]) => k) };
  for (const [k, v] of pairs) ctx[`aws:RequestTag/${k}`] = v;
  return ctx;
}

/** Every `InstanceType` value anywhere in a request (training, tuning, processing, transform, variants). */
function instanceTypes(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const v of value) instanceTypes(v, out);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === 'InstanceType' && typeof v === 'string') out.add(v);
      else if (typeof v === 'object') instanceTypes(v, out);
    }
  return out;
}

/** SageMaker operations with the sagemaker:InstanceTypes key (Service Authorization Reference): every type named. */
const INSTANCE_TYPES_KEY = new Set([
  'CreateTrainingJob',
  'CreateHyperParameterTuningJob',
  'CreateProcessingJob',
  'CreateTransformJob',
  'CreateEndpointConfig',
]);

/** Service condition keys our policies (and AWS's examples for these services) test. */
function serviceContext(call: ApiCall): Record<string, string | string[]> {
  const b = call.body;
  const ctx: Record<string, string | string[]> = {};
  if (call.prefix === 'sagemaker' && INSTANCE_TYPES_KEY.has(call.operation)) {
    const types = [...instanceTypes(b)];
    if (types.length) ctx['sagemaker:InstanceTypes'] = types;
  }
  if (call.prefix === 'cloudwatch' && typeof b.Namespace === 'string') ctx['cloudwatch:namespace'] = b.Namespace;
  if (call.prefix === 'application-autoscaling') {
    if (typeof b.ServiceNamespace === 'string') ctx['application-autoscaling:service-namespace'] = b.ServiceNamespace;
    if (typeof b.ScalableDimension === 'string')
      ctx['application-autoscaling:scalable-dimension'] = b.ScalableDimension;
  }
  return ctx;
}

/** Every role ARN the request passes to the service (nested definitions included). */
function passedRoles(prefix: string, value: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const v of value) passedRoles(prefix, v, out);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (ROLE_FIELDS.has(k) && typeof v === 'string' && v)
        out.add(v.startsWith('arn:') ? v : `arn:aws:iam::${ACCOUNT_ID}:role/${v}`);
      else if (typeof v === 'object') passedRoles(prefix, v, out);
    }
  return out;
}

/** The authorizations AWS performs for a call, in the order it reports them. */
export async function checksFor(call: ApiCall): Promise<AuthCheck[]> {
  const { prefix, operation, body } = call;
  const name = `${prefix}:${operation}`;
  if (NO_PERMISSION_NEEDED.has(name)) return [];
  const shape = await actionShape(prefix, operation);
  const read = reader(prefix, operation, body);
  let resources: string[];
  if (shape.required.length) {
    resources = shape.required.flatMap((t) => arnsOf(t, read));
  } else {
    const named = shape.optional.filter((t) => resolvable(t, read)).flatMap((t) => arnsOf(t, read));
    const arnField = strings(field(body, 'ResourceArn'));
    resources = named.length ? named : arnField.length ? arnField : ['*'];
  }
  if (prefix === 'logs' && !LOGS_BARE_GROUP_ARN.has(operation))
    resources = resources.map((r) => (/:log-group:[^:]+$/.test(r) ? `${r}:*` : r));
  const context = { ...requestTagContext(body), ...serviceContext(call) };
  const checks: AuthCheck[] = resources.map((resource) => ({ action: shape.action, resource, context }));

  const service = PASSED_TO[prefix];
  if (service)
    for (const role of passedRoles(prefix, body))
      checks.push({ action: 'iam:PassRole', resource: role, context: { 'iam:PassedToService': service } });

  const tags = requestTagContext(body);
  const created = checks[0]?.resource;
  if (tags['aws:TagKeys'] && created) {
    if (prefix === 'sagemaker' && operation.startsWith('Create'))
      checks.push({
        action: 'sagemaker:AddTags',
        resource: created,
        context: { ...tags, 'sagemaker:TaggingAction': operation },
      });
    if (prefix === 'cloudwatch' && operation === 'PutMetricAlarm')
      checks.push({ action: 'cloudwatch:TagResource', resource: created, context: tags });
  }

  if (
    prefix === 'application-autoscaling' &&
    operation === 'RegisterScalableTarget' &&
    body.ServiceNamespace === 'sagemaker'
  ) {
    const endpoint = /^endpoint\/([^/]+)\//.exec(String(body.ResourceId ?? ''))?.[1];
    if (endpoint) {
      const arn = `arn:aws:sagemaker:${REGION}:${ACCOUNT_ID}:endpoint/${endpoint}`;
      checks.push({ action: 'sagemaker:DescribeEndpoint', resource: arn });
      checks.push({ action: 'sagemaker:UpdateEndpointWeightsAndCapacities', resource: arn });
    }
    checks.push({
      action: 'iam:CreateServiceLinkedRole',
      resource: `arn:aws:iam::${ACCOUNT_ID}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`,
      context: { 'iam:AWSServiceName': 'sagemaker.application-autoscaling.amazonaws.com' },
    });
  }
  return checks;
}

/** Whether the reference knows the action (an unknown one cannot be allowed by any policy). */
export async function actionExists(prefix: string, operation: string): Promise<boolean> {
  return (await actionShape(prefix, operation)).exists;
}
