/**
 * Model Registry conformance: a model package version takes no tags of its own. SageMaker refuses AddTags on a
 * versioned model package ARN, and Tags on a CreateModelPackage in a group, with "Tags are not supported in Model
 * Package versions. Please add them to the Model Package Group" (aws/aws-cdk#33699; API_CreateModelPackage: a version
 * "uses the tags associated with the model group"). The local service answers the same before any handler runs (the
 * documented rules model-package.version-tags and model-package.no-tags-with-group); the group itself, and an
 * unversioned package, can still be tagged.
 */
import * as sagemakerSdk from '@aws-sdk/client-sagemaker';
import type { LocalService } from '../../local/service/server';
import { failure, startConformanceService, conformanceSageMaker } from './conformance-service';

const ARN = (what: string): string => `arn:aws:sagemaker:us-east-1:123456789012:${what}`;
const REFUSED = 'Tags are not supported in Model Package versions. Please add them to the Model Package Group';
const TAGS = [{ Key: 'pipeline:workflow-id', Value: 'wf-1' }];

let svc: LocalService;
let client: sagemakerSdk.SageMakerClient;

beforeAll(async () => {
  svc = await startConformanceService();
  client = conformanceSageMaker(svc);
});
afterAll(async () => svc?.close());

test('AddTags on a model package version is refused as SageMaker refuses it', async () => {
  const err = await failure(
    client.send(new sagemakerSdk.AddTagsCommand({ ResourceArn: ARN('model-package/conf-group/3'), Tags: TAGS })),
  );
  expect(err).toEqual({ name: 'ValidationException', message: REFUSED });
});

test('CreateModelPackage with Tags in a group is refused with the same words, and creates nothing', async () => {
  await client.send(new sagemakerSdk.CreateModelPackageGroupCommand({ ModelPackageGroupName: 'conf-group' }));
  const err = await failure(
    client.send(
      new sagemakerSdk.CreateModelPackageCommand({
        ModelPackageGroupName: 'conf-group',
        InferenceSpecification: {
          Containers: [{ Image: 'jax:latest', ModelDataUrl: 's3://conf/m.tar.gz' }],
          SupportedContentTypes: ['application/json'],
          SupportedResponseMIMETypes: ['application/json'],
        },
        Tags: TAGS,
      }),
    ),
  );
  expect(err).toEqual({ name: 'ValidationException', message: REFUSED });
  const list = await client.send(new sagemakerSdk.ListModelPackagesCommand({ ModelPackageGroupName: 'conf-group' }));
  expect(list.ModelPackageSummaryList).toEqual([]);
});

test('the group takes tags: that is where AWS puts a version’s tags', async () => {
  const group = await client.send(
    new sagemakerSdk.DescribeModelPackageGroupCommand({ ModelPackageGroupName: 'conf-group' }),
  );
  await client.send(new sagemakerSdk.AddTagsCommand({ ResourceArn: group.ModelPackageGroupArn, Tags: TAGS }));
  const listed = await client.send(new sagemakerSdk.ListTagsCommand({ ResourceArn: group.ModelPackageGroupArn }));
  expect(listed.Tags).toEqual(TAGS);
});
