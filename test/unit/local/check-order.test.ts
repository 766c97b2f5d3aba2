/**
 * Every request the local service serves is checked in one order, whatever its protocol (core/check-order.ts):
 * IAM, then injected faults, then AWS's model of the operation. A caller without permission is refused even when a
 * fault would fire and its input is invalid; a permitted caller meets the fault before validation.
 */
import { ListTrainingJobsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { POLICY_DIR } from '../../../infra/iam-roles';
import { IamEnforcer } from '../../../local/service/iam/enforcer';
import { PolicySet, type RoleDeclaration } from '../../../local/service/iam/policies';
import type { LocalService } from '../../../local/service/server';
import { ACCOUNT_ID } from '../../../local/shared/account';
import { ADMIN_CREDENTIALS, roleCredentials } from '../../../local/shared/credentials';
import { startService, tmpDir } from './helpers';

/** A role that may write logs and nothing on SageMaker. */
const LOGS_ONLY = 'LogsOnly';

let svc: LocalService;
afterEach(async () => svc?.close());

async function start(faults: string): Promise<void> {
  const roles: Record<string, RoleDeclaration> = {
    [LOGS_ONLY]: {
      trustedServices: ['sagemaker.amazonaws.com'],
      policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['logs:*'], Resource: '*' }] },
    },
  };
  // No moto needed: every answer here comes from a check, before any handler runs.
  svc = await startService('http://127.0.0.1:9', tmpDir('local-check-order-'), {
    faults,
    iam: new IamEnforcer(PolicySet.fromDocuments(POLICY_DIR, roles)),
  });
}

/** The error name both protocol paths answer, for a caller and a request that is valid or not. */
async function answers(credentials: { accessKeyId: string; secretAccessKey: string }, valid: boolean) {
  const common = { endpoint: svc.url, region: 'us-east-1', credentials, maxAttempts: 1 };
  const name = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (err: Error) => err.name,
    );
  return {
    json: await name(new SageMakerClient(common).send(new ListTrainingJobsCommand({ MaxResults: valid ? 10 : 0 }))),
    runtime: await name(
      new SageMakerRuntimeClient(common).send(
        new InvokeEndpointCommand({ EndpointName: valid ? 'scorer' : 'not_a_valid_name!', Body: Buffer.from('{}') }),
      ),
    ),
  };
}

const denied = roleCredentials(`arn:aws:iam::${ACCOUNT_ID}:role/${LOGS_ONLY}`);

test('IAM refuses before an injected fault, on JSON and Runtime requests alike', async () => {
  await start('throttle:1');
  expect(await answers(denied, false)).toEqual({ json: 'AccessDeniedException', runtime: 'AccessDeniedException' });
});

test('an injected fault comes before the model check, on JSON and Runtime requests alike', async () => {
  await start('throttle:1');
  expect(await answers(ADMIN_CREDENTIALS, false)).toEqual({
    json: 'ThrottlingException',
    runtime: 'ThrottlingException',
  });
});

test('without faults, the permitted caller meets the model check and the refused one IAM', async () => {
  await start('');
  const invalid = await answers(ADMIN_CREDENTIALS, false);
  expect(invalid.json).toMatch(/Validation/);
  expect(invalid.runtime).toMatch(/Validation/);
  expect(await answers(denied, false)).toEqual({ json: 'AccessDeniedException', runtime: 'AccessDeniedException' });
});
