/** `cli status`: a step whose create call waits on a full quota says so, from the pending activity's last failure. */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { toFailure } from '../../../../activities/aws-errors';
import { capacityWaits } from '../../../../worker/commands/status';
import { activityEnv, awsError } from '../../activities/helpers';

test('the quota a create call waits for is shown with the activity and its attempt', async () => {
  const refused = awsError(
    'ResourceLimitExceeded',
    400,
    "The account-level service limit 'ml.p4de.24xlarge for training job usage' is 8 Instances, with current " +
      'utilization of 8 Instances and a request delta of 4 Instances.',
  );
  const f = (await activityEnv({ attempt: 3 }).run(async () =>
    toFailure(refused, 'CreateTrainingJob j'),
  )) as ApplicationFailure;
  const described = {
    raw: {
      pendingActivities: [
        {
          activityType: { name: 'createTrainingJob' },
          attempt: 3,
          lastFailure: { message: f.message, applicationFailureInfo: { type: f.type } },
        },
        {
          activityType: { name: 'other' },
          attempt: 2,
          lastFailure: { message: 'x failed', applicationFailureInfo: { type: 'AwsTransient' } },
        },
      ],
    },
  } as unknown as WorkflowExecutionDescription;
  expect(capacityWaits(described)).toEqual([
    "waiting for capacity: 'ml.p4de.24xlarge for training job usage': 8 of 8 Instances in use, 4 asked (createTrainingJob attempt 3)",
  ]);
  expect(capacityWaits({ raw: {} } as WorkflowExecutionDescription)).toEqual([]);
});
