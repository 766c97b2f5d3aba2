/** LOCAL_FAULTS: injected ThrottlingException / HTTP 500 reach SDK clients with AWS's shapes. */
import { ListTrainingJobsCommand } from '@aws-sdk/client-sagemaker';
import { faultDraws, injectFault, parseFaults } from '../../../local/service/core/faults';
import type { LocalService } from '../../../local/service/server';
import { sagemaker, startService, tmpDir } from './helpers';

test('parseFaults reads shares and refuses nonsense', () => {
  expect(parseFaults(undefined)).toEqual({ throttle: 0, error500: 0 });
  expect(parseFaults('throttle:0.3,error500:0.1')).toEqual({ throttle: 0.3, error500: 0.1 });
  expect(() => parseFaults('throttle:2')).toThrow(/LOCAL_FAULTS/);
  expect(() => parseFaults('explode:0.1')).toThrow(/LOCAL_FAULTS/);
  expect(parseFaults('throttle:0.3,seed:7')).toEqual({ throttle: 0.3, error500: 0, seed: 7 });
  expect(() => parseFaults('seed:-1')).toThrow(/seed/);
  expect(injectFault({ throttle: 0, error500: 0 })).toBeUndefined();
  expect(injectFault({ throttle: 0.5, error500: 0 }, () => 0.1)?.code).toBe('ThrottlingException');
  expect(injectFault({ throttle: 0, error500: 0.5 }, () => 0.1)?.status).toBe(500);
});

describe('a service with faults switched on', () => {
  let svc: LocalService;
  afterEach(async () => svc?.close());

  test('throttle:1 answers every call with ThrottlingException', async () => {
    // No moto needed: the fault fires before any handler runs.
    svc = await startService('http://127.0.0.1:9', tmpDir('local-faults-'), { faults: 'throttle:1' });
    await expect(sagemaker(svc.url).send(new ListTrainingJobsCommand({}))).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  test('error500:1 answers HTTP 500 InternalFailure', async () => {
    svc = await startService('http://127.0.0.1:9', tmpDir('local-faults-'), { faults: 'error500:1' });
    await expect(sagemaker(svc.url).send(new ListTrainingJobsCommand({}))).rejects.toMatchObject({
      name: 'InternalFailure',
      $metadata: { httpStatusCode: 500 },
    });
  });
});

test('a seeded LOCAL_FAULTS draws the same sequence every time; unseeded draws differ', () => {
  const seq = (spec: string) => {
    const draw = faultDraws(parseFaults(spec));
    return Array.from({ length: 8 }, () => draw());
  };
  expect(seq('throttle:0.3,seed:42')).toEqual(seq('throttle:0.3,seed:42'));
  expect(seq('throttle:0.3,seed:42')).not.toEqual(seq('throttle:0.3,seed:43'));
  expect(seq('throttle:0.3')).not.toEqual(seq('throttle:0.3'));
});
