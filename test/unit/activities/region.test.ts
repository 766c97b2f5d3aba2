/** checkRegion: the spec's region against the region the worker's AWS clients call. */
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { createRegionActivities } from '../../../activities/region';
import { expectFailure, testDeps } from './helpers';

const deps = testDeps();
const acts = createRegionActivities(deps);

it('passes a spec in the worker’s region', async () => {
  expect(await acts.checkRegion({ region: 'us-east-1' })).toEqual({ region: 'us-east-1' });
});

it('refuses another region, naming both, not retried', async () => {
  const err = await expectFailure(acts.checkRegion({ region: 'eu-west-1' }), 'SpecInvalid', true);
  expect(err.message).toMatch(/spec's region is eu-west-1 but this worker calls AWS in us-east-1/);
  expect(err.message).toMatch(/Nothing was created/);
});

it('reads the region the clients really use (a worker configured for eu-west-1)', async () => {
  const eu = createRegionActivities({
    ...deps,
    clients: {
      ...deps.clients,
      sagemaker: new SageMakerClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    },
  });
  expect(await eu.checkRegion({ region: 'eu-west-1' })).toEqual({ region: 'eu-west-1' });
  await expectFailure(eu.checkRegion({ region: 'us-east-1' }), 'SpecInvalid', true);
});
