/** Search over the local model registry, as the SageMaker Python SDK's register() uses it. */
import {
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  type SageMakerClient,
  SearchCommand,
  type SearchCommandInput,
} from '@aws-sdk/client-sagemaker';
import type { LocalService } from '../../../local/service/server';
import { type Moto, sagemaker, startMoto, startService, tmpDir } from './helpers';

jest.setTimeout(60_000);

let moto: Moto;
let svc: LocalService;
let sm: SageMakerClient;

beforeAll(async () => {
  moto = await startMoto();
  svc = await startService(moto.url, tmpDir('local-search-'));
  sm = sagemaker(svc.url);
  for (const [name, team] of [
    ['lm-prod', 'research'],
    ['lm-staging', 'research'],
    ['vision', 'platform'],
  ] as const) {
    await sm.send(
      new CreateModelPackageGroupCommand({ ModelPackageGroupName: name, Tags: [{ Key: 'team', Value: team }] }),
    );
    await new Promise((r) => setTimeout(r, 20)); // distinct creation times for the sort
  }
  await sm.send(
    new CreateModelPackageCommand({
      ModelPackageGroupName: 'lm-prod',
      ModelApprovalStatus: 'Approved',
      InferenceSpecification: {
        Containers: [{ Image: 'jax:1', ModelDataUrl: 's3://b/m.tar.gz' }],
        SupportedContentTypes: ['application/json'],
        SupportedResponseMIMETypes: ['application/json'],
      },
    }),
  );
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

const groupNames = async (input: Omit<SearchCommandInput, 'Resource'>) =>
  ((await sm.send(new SearchCommand({ Resource: 'ModelPackageGroup', ...input }))).Results ?? []).map(
    (r) => r.ModelPackageGroup?.ModelPackageGroupName,
  );

test("finds a group by name as the SDK's register() asks, with its tags", async () => {
  const res = await sm.send(
    new SearchCommand({
      Resource: 'ModelPackageGroup',
      SearchExpression: { Filters: [{ Name: 'ModelPackageGroupName', Operator: 'Equals', Value: 'lm-prod' }] },
    }),
  );
  expect(res.Results).toHaveLength(1);
  expect(res.Results?.[0]?.ModelPackageGroup).toMatchObject({
    ModelPackageGroupName: 'lm-prod',
    ModelPackageGroupStatus: 'Completed',
    Tags: [{ Key: 'team', Value: 'research' }],
  });
  expect(res.TotalHits).toEqual({ Value: 1, Relation: 'EqualTo' });
  expect(await groupNames({ SearchExpression: { Filters: [{ Name: 'ModelPackageGroupName', Value: 'lm' }] } })).toEqual(
    [],
  );
});

test('filters by operator, tag and sub-expressions, sorts and pages', async () => {
  expect(
    await groupNames({
      SearchExpression: { Filters: [{ Name: 'ModelPackageGroupName', Operator: 'Contains', Value: 'lm-' }] },
      SortBy: 'CreationTime',
      SortOrder: 'Ascending',
    }),
  ).toEqual(['lm-prod', 'lm-staging']);
  expect(
    await groupNames({ SearchExpression: { Filters: [{ Name: 'Tags.team', Operator: 'Equals', Value: 'platform' }] } }),
  ).toEqual(['vision']);
  expect(
    await groupNames({
      SearchExpression: {
        Operator: 'Or',
        SubExpressions: [
          { Filters: [{ Name: 'ModelPackageGroupName', Value: 'vision' }] },
          { Filters: [{ Name: 'ModelPackageGroupName', Operator: 'In', Value: 'lm-staging,other' }] },
        ],
      },
      SortBy: 'ModelPackageGroupName',
      SortOrder: 'Ascending',
    }),
  ).toEqual(['lm-staging', 'vision']);
  const page1 = await sm.send(new SearchCommand({ Resource: 'ModelPackageGroup', MaxResults: 2 }));
  expect(page1.Results).toHaveLength(2);
  expect(page1.Results?.[0]?.ModelPackageGroup?.ModelPackageGroupName).toBe('vision'); // newest first by default
  const page2 = await sm.send(
    new SearchCommand({ Resource: 'ModelPackageGroup', MaxResults: 2, NextToken: page1.NextToken }),
  );
  expect(page2.Results?.map((r) => r.ModelPackageGroup?.ModelPackageGroupName)).toEqual(['lm-prod']);
  expect(page2.NextToken).toBeUndefined();
});

test('finds model packages by approval status', async () => {
  const res = await sm.send(
    new SearchCommand({
      Resource: 'ModelPackage',
      SearchExpression: {
        Filters: [
          { Name: 'ModelPackageGroupName', Value: 'lm-prod' },
          { Name: 'ModelApprovalStatus', Value: 'Approved' },
        ],
      },
    }),
  );
  expect(res.Results?.map((r) => r.ModelPackage?.ModelPackageArn)).toEqual([
    expect.stringMatching(/:model-package\/lm-prod\/1$/),
  ]);
});

test('refuses what it cannot answer, naming it', async () => {
  await expect(sm.send(new SearchCommand({ Resource: 'Endpoint' }))).rejects.toMatchObject({
    name: 'ValidationException',
    message: expect.stringMatching(/Search over Endpoint is not supported by the local SageMaker service/),
  });
  await expect(
    sm.send(
      new SearchCommand({
        Resource: 'ModelPackageGroup',
        SearchExpression: { NestedFilters: [{ NestedPropertyName: 'x', Filters: [{ Name: 'y', Value: 'z' }] }] },
      }),
    ),
  ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/NestedFilters/) });
  await expect(
    sm.send(
      new SearchCommand({
        Resource: 'ModelPackageGroup',
        SearchExpression: { Filters: [{ Name: 'ModelPackageGroupName', Operator: 'Equals' }] },
      }),
    ),
  ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/value is required/i) });
});
