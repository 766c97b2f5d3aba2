/**
 * Requests → the authorizations AWS performs (action, resource ARN, condition keys), per protocol: the JSON
 * protocols (SageMaker, CodeBuild, ECR, CloudWatch Logs, Application Auto Scaling, CloudWatch), the query protocol
 * (STS, IAM, CloudWatch), RPC v2 CBOR, and S3's REST API.
 */
import { cbor } from '@smithy/core/cbor';
import { checksFor } from '../../../../local/service/iam/request-checks';
import { readRequest, type RawRequest } from '../../../../local/service/iam/request-reading';
import { s3Checks } from '../../../../local/service/iam/s3-checks';

const ACCT = '123456789012';
const sm = (r: string): string => `arn:aws:sagemaker:us-east-1:${ACCT}:${r}`;
const auth = (service: string, key = 'local'): string =>
  `AWS4-HMAC-SHA256 Credential=${key}/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=x`;

describe('JSON protocol calls', () => {
  it('CreateTrainingJob: the job ARN with the request tags, PassRole for its role, AddTags for tag-on-create', async () => {
    const checks = await checksFor({
      prefix: 'sagemaker',
      operation: 'CreateTrainingJob',
      body: {
        TrainingJobName: 'job-1',
        RoleArn: `arn:aws:iam::${ACCT}:role/SageMakerExecutionRole`,
        Tags: [{ Key: 'pipeline:workflow-id', Value: 'wf' }],
      },
    });
    expect(checks).toEqual([
      {
        action: 'sagemaker:CreateTrainingJob',
        resource: sm('training-job/job-1'),
        context: { 'aws:TagKeys': ['pipeline:workflow-id'], 'aws:RequestTag/pipeline:workflow-id': 'wf' },
      },
      {
        action: 'iam:PassRole',
        resource: `arn:aws:iam::${ACCT}:role/SageMakerExecutionRole`,
        context: { 'iam:PassedToService': 'sagemaker.amazonaws.com' },
      },
      {
        action: 'sagemaker:AddTags',
        resource: sm('training-job/job-1'),
        context: {
          'aws:TagKeys': ['pipeline:workflow-id'],
          'aws:RequestTag/pipeline:workflow-id': 'wf',
          'sagemaker:TaggingAction': 'CreateTrainingJob',
        },
      },
    ]);
  });

  it('a role nested in a tuning job definition is passed too', async () => {
    const checks = await checksFor({
      prefix: 'sagemaker',
      operation: 'CreateHyperParameterTuningJob',
      body: { HyperParameterTuningJobName: 't', TrainingJobDefinition: { RoleArn: `arn:aws:iam::${ACCT}:role/R` } },
    });
    expect(checks.map((c) => [c.action, c.resource])).toEqual([
      ['sagemaker:CreateHyperParameterTuningJob', sm('hyper-parameter-tuning-job/t')],
      ['iam:PassRole', `arn:aws:iam::${ACCT}:role/R`],
    ]);
  });

  it("SageMaker resource names are lower case in the ARN, as in SageMaker's own ARNs", async () => {
    const checks = await checksFor({
      prefix: 'sagemaker',
      operation: 'DescribeEndpoint',
      body: { EndpointName: 'Demo-LM' },
    });
    expect(checks[0]?.resource).toBe(sm('endpoint/demo-lm'));
  });

  it('UpdateEndpoint is authorized on the endpoint and on the new endpoint config (both required resources)', async () => {
    const checks = await checksFor({
      prefix: 'sagemaker',
      operation: 'UpdateEndpoint',
      body: { EndpointName: 'ep', EndpointConfigName: 'cfg' },
    });
    expect(checks.map((c) => c.resource)).toEqual([sm('endpoint/ep'), sm('endpoint-config/cfg')]);
  });

  it('list actions without a required resource type are authorized on "*"; a request naming an ARN uses it', async () => {
    for (const operation of ['ListHyperParameterTuningJobs', 'ListModelPackages', 'ListTrainingJobs'])
      expect(
        (await checksFor({ prefix: 'sagemaker', operation, body: { ModelPackageGroupName: 'g' } }))[0]?.resource,
      ).toBe('*');
    const tags = await checksFor({
      prefix: 'sagemaker',
      operation: 'AddTags',
      body: { ResourceArn: sm('endpoint/ep'), Tags: [{ Key: 'k', Value: 'v' }] },
    });
    expect(tags).toEqual([
      {
        action: 'sagemaker:AddTags',
        resource: sm('endpoint/ep'),
        context: { 'aws:TagKeys': ['k'], 'aws:RequestTag/k': 'v' },
      },
    ]);
    const pkg = await checksFor({
      prefix: 'sagemaker',
      operation: 'DescribeModelPackage',
      body: { ModelPackageName: sm('model-package/g/3') },
    });
    expect(pkg[0]?.resource).toBe(sm('model-package/g/3'));
  });

  it('CodeBuild: build IDs and project names map to the project ARN; serviceRole may be a name', async () => {
    const builds = await checksFor({
      prefix: 'codebuild',
      operation: 'BatchGetBuilds',
      body: { ids: ['p-image-build:uuid'] },
    });
    expect(builds[0]?.resource).toBe(`arn:aws:codebuild:us-east-1:${ACCT}:project/p-image-build`);
    const create = await checksFor({
      prefix: 'codebuild',
      operation: 'CreateProject',
      body: { name: 'p-image-build', serviceRole: 'CodeBuildImageRole', tags: [{ key: 'a', value: 'b' }] },
    });
    expect(create).toEqual([
      {
        action: 'codebuild:CreateProject',
        resource: `arn:aws:codebuild:us-east-1:${ACCT}:project/p-image-build`,
        context: { 'aws:TagKeys': ['a'], 'aws:RequestTag/a': 'b' },
      },
      {
        action: 'iam:PassRole',
        resource: `arn:aws:iam::${ACCT}:role/CodeBuildImageRole`,
        context: { 'iam:PassedToService': 'codebuild.amazonaws.com' },
      },
    ]);
  });

  it('ECR: repository actions on the repository ARN; GetAuthorizationToken on "*"', async () => {
    expect(
      await checksFor({
        prefix: 'ecr',
        operation: 'PutImageScanningConfiguration',
        body: { repositoryName: 'jax-lm' },
      }),
    ).toEqual([
      {
        action: 'ecr:PutImageScanningConfiguration',
        resource: `arn:aws:ecr:us-east-1:${ACCT}:repository/jax-lm`,
        context: {},
      },
    ]);
    expect((await checksFor({ prefix: 'ecr', operation: 'GetAuthorizationToken', body: {} }))[0]?.resource).toBe('*');
  });

  it('CloudWatch Logs: log-group actions on `log-group:<name>:*`, stream actions on the stream ARN', async () => {
    const group = await checksFor({
      prefix: 'logs',
      operation: 'DescribeLogStreams',
      body: { logGroupName: '/aws/sagemaker/TrainingJobs' },
    });
    expect(group[0]?.resource).toBe(`arn:aws:logs:us-east-1:${ACCT}:log-group:/aws/sagemaker/TrainingJobs:*`);
    const stream = await checksFor({
      prefix: 'logs',
      operation: 'GetLogEvents',
      body: { logGroupName: '/aws/codebuild/p', logStreamName: 'uuid' },
    });
    expect(stream[0]?.resource).toBe(`arn:aws:logs:us-east-1:${ACCT}:log-group:/aws/codebuild/p:log-stream:uuid`);
  });

  it('CloudWatch: one check per alarm named, TagResource for PutMetricAlarm with Tags, the namespace key', async () => {
    const alarm = (n: string): string => `arn:aws:cloudwatch:us-east-1:${ACCT}:alarm:${n}`;
    const describe = await checksFor({
      prefix: 'cloudwatch',
      operation: 'DescribeAlarms',
      body: { AlarmNames: ['a', 'b'] },
    });
    expect(describe.map((c) => c.resource)).toEqual([alarm('a'), alarm('b')]);
    const put = await checksFor({
      prefix: 'cloudwatch',
      operation: 'PutMetricAlarm',
      body: { AlarmName: 'x-rollback-5xx', Tags: [{ Key: 'k', Value: 'v' }] },
    });
    expect(put.map((c) => c.action)).toEqual(['cloudwatch:PutMetricAlarm', 'cloudwatch:TagResource']);
    const data = await checksFor({
      prefix: 'cloudwatch',
      operation: 'PutMetricData',
      body: { Namespace: '/aws/sagemaker/X' },
    });
    expect(data).toEqual([
      { action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': '/aws/sagemaker/X' } },
    ]);
  });

  it('Application Auto Scaling: registering a SageMaker variant also needs the endpoint permissions and the SLR', async () => {
    const checks = await checksFor({
      prefix: 'application-autoscaling',
      operation: 'RegisterScalableTarget',
      body: {
        ServiceNamespace: 'sagemaker',
        ResourceId: 'endpoint/ep/variant/AllTraffic',
        ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      },
    });
    expect(checks.map((c) => c.action)).toEqual([
      'application-autoscaling:RegisterScalableTarget',
      'sagemaker:DescribeEndpoint',
      'sagemaker:UpdateEndpointWeightsAndCapacities',
      'iam:CreateServiceLinkedRole',
    ]);
    expect(checks[0]?.context).toEqual({
      'application-autoscaling:service-namespace': 'sagemaker',
      'application-autoscaling:scalable-dimension': 'sagemaker:variant:DesiredInstanceCount',
    });
    expect(checks[2]?.resource).toBe(sm('endpoint/ep'));
  });

  it('an operation the Service Authorization Reference does not know is checked as written (no policy allows it)', async () => {
    const checks = await checksFor({ prefix: 'sagemaker', operation: 'NoSuchOperation', body: {} });
    expect(checks).toEqual([{ action: 'sagemaker:NoSuchOperation', resource: '*', context: {} }]);
  });
});

describe('reading raw requests', () => {
  const raw = (r: Partial<RawRequest> & { headers: RawRequest['headers'] }): RawRequest => ({
    method: 'POST',
    url: '/',
    ...r,
  });

  it('X-Amz-Target names the JSON service and operation', () => {
    const body = Buffer.from(JSON.stringify({ logGroupName: 'g' }));
    const r = readRequest(
      raw({ headers: { 'x-amz-target': 'Logs_20140328.DescribeLogStreams', authorization: auth('logs') } }),
      body,
    );
    expect(r).toMatchObject({
      protocol: 'json',
      label: 'logs:DescribeLogStreams',
      call: { body: { logGroupName: 'g' } },
    });
    const cw = readRequest(
      raw({ headers: { 'x-amz-target': 'GraniteServiceVersion20100801.DescribeAlarms' } }),
      Buffer.from('{}'),
    );
    expect(cw.protocol).toBe('json-query-compatible');
  });

  it('the query protocol: Action= in a form body, the service from the signing name, lists as arrays', async () => {
    const body = Buffer.from('Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=a&AlarmNames.member.2=b');
    const r = readRequest(
      raw({
        headers: {
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          authorization: auth('monitoring'),
        },
      }),
      body,
    );
    expect(r).toMatchObject({
      protocol: 'query',
      label: 'cloudwatch:DescribeAlarms',
      call: { body: { AlarmNames: ['a', 'b'] } },
    });
    expect((await checksFor(r.call!)).length).toBe(2);
    const sts = readRequest(
      raw({ headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth('sts') } }),
      Buffer.from('Action=GetCallerIdentity&Version=2011-06-15'),
    );
    expect(await checksFor(sts.call!)).toEqual([]);
    const tags = readRequest(
      raw({ headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth('monitoring') } }),
      Buffer.from('Action=PutMetricAlarm&AlarmName=x&Tags.member.1.Key=k&Tags.member.1.Value=v'),
    );
    expect(tags.call?.body).toEqual({ AlarmName: 'x', Tags: [{ Key: 'k', Value: 'v' }] });
  });

  it('RPC v2 CBOR: the operation from the path, the body decoded', () => {
    const body = Buffer.from(cbor.serialize({ AlarmNames: ['a'] }));
    const r = readRequest(
      raw({
        url: '/service/GraniteServiceVersion20100801/operation/DescribeAlarms',
        headers: { 'smithy-protocol': 'rpc-v2-cbor' },
      }),
      body,
    );
    expect(r.call).toEqual({ prefix: 'cloudwatch', operation: 'DescribeAlarms', body: { AlarmNames: ['a'] } });
  });
});

describe('S3 REST requests', () => {
  const map = (method: string, url: string, headers: Record<string, string> = {}, body?: string) =>
    s3Checks({ method, url, headers, body: body === undefined ? undefined : Buffer.from(body) });
  const obj = (k: string): string => `arn:aws:s3:::b/${k}`;

  it('object reads and writes', () => {
    expect(map('GET', '/b/a%20b/c.txt')).toEqual({
      operation: 'GetObject',
      checks: [{ action: 's3:GetObject', resource: obj('a b/c.txt') }],
    });
    expect(map('HEAD', '/b/k').checks).toEqual([{ action: 's3:GetObject', resource: obj('k') }]);
    expect(map('GET', '/b/k?versionId=3').checks[0]?.action).toBe('s3:GetObjectVersion');
    expect(map('PUT', '/b/k')).toEqual({
      operation: 'PutObject',
      checks: [{ action: 's3:PutObject', resource: obj('k') }],
    });
    expect(map('PUT', '/b/k', { 'x-amz-tagging': 'a=b' }).checks.map((c) => c.action)).toEqual([
      's3:PutObject',
      's3:PutObjectTagging',
    ]);
    expect(map('DELETE', '/b/k').checks[0]?.action).toBe('s3:DeleteObject');
  });

  it('listing the bucket is s3:ListBucket with the prefix keys; HeadBucket too', () => {
    expect(map('GET', '/b?list-type=2&prefix=pipelines%2Fx%2F&delimiter=%2F&max-keys=10')).toEqual({
      operation: 'ListObjectsV2',
      checks: [
        {
          action: 's3:ListBucket',
          resource: 'arn:aws:s3:::b',
          context: { 's3:prefix': 'pipelines/x/', 's3:delimiter': '/', 's3:max-keys': '10' },
        },
      ],
    });
    expect(map('HEAD', '/b').checks[0]).toMatchObject({ action: 's3:ListBucket', resource: 'arn:aws:s3:::b' });
    expect(map('PUT', '/b').checks).toEqual([{ action: 's3:CreateBucket', resource: 'arn:aws:s3:::b' }]);
    expect(map('GET', '/b?location').checks[0]?.action).toBe('s3:GetBucketLocation');
    expect(map('GET', '/b?uploads').checks[0]?.action).toBe('s3:ListBucketMultipartUploads');
    expect(map('GET', '/').checks).toEqual([{ action: 's3:ListAllMyBuckets', resource: '*' }]);
  });

  it('multipart uploads are s3:PutObject except Abort; a copy needs the source as well', () => {
    expect(map('POST', '/b/k?uploads').operation).toBe('CreateMultipartUpload');
    expect(map('PUT', '/b/k?partNumber=2&uploadId=u')).toEqual({
      operation: 'UploadPart',
      checks: [{ action: 's3:PutObject', resource: obj('k') }],
    });
    expect(map('POST', '/b/k?uploadId=u').checks).toEqual([{ action: 's3:PutObject', resource: obj('k') }]);
    expect(map('DELETE', '/b/k?uploadId=u').checks).toEqual([
      { action: 's3:AbortMultipartUpload', resource: obj('k') },
    ]);
    expect(map('GET', '/b/k?uploadId=u').checks[0]?.action).toBe('s3:ListMultipartUploadParts');
    expect(map('PUT', '/b/k?partNumber=1&uploadId=u', { 'x-amz-copy-source': '/src/dir%2Fa.bin' })).toEqual({
      operation: 'UploadPartCopy',
      checks: [
        { action: 's3:PutObject', resource: obj('k') },
        { action: 's3:GetObject', resource: 'arn:aws:s3:::src/dir/a.bin' },
      ],
    });
    expect(map('PUT', '/b/k', { 'x-amz-copy-source': 'src/a?versionId=7' }).checks).toEqual([
      { action: 's3:PutObject', resource: obj('k') },
      { action: 's3:GetObjectVersion', resource: 'arn:aws:s3:::src/a' },
    ]);
  });

  it('DeleteObjects is s3:DeleteObject on each key of the body', () => {
    const body = '<Delete><Object><Key>a</Key></Object><Object><Key>d/b&amp;c</Key></Object></Delete>';
    expect(map('POST', '/b?delete', {}, body).checks).toEqual([
      { action: 's3:DeleteObject', resource: obj('a') },
      { action: 's3:DeleteObject', resource: obj('d/b&c') },
    ]);
  });

  it('a `<bucket>.localhost` host addresses the bucket virtual-host style', () => {
    expect(s3Checks({ method: 'GET', url: '/k', host: 'b.localhost:4566', headers: {} }).checks).toEqual([
      { action: 's3:GetObject', resource: obj('k') },
    ]);
  });
});
