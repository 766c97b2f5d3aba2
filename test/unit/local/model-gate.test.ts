/**
 * The local service's model gate: it will not start without AWS's models, refuses what the model refuses before any
 * handler runs, and lets members the model does not define through (as AWS does), naming each once in its log.
 */
import { ListTrainingJobsCommand } from '@aws-sdk/client-sagemaker';
import { ModelGate } from '../../../local/service/core/model-gate';
import type { LocalService } from '../../../local/service/server';
import { sagemaker, startService, tmpDir } from './helpers';

test('the service does not start without the models, and says where it looked', async () => {
  const saved = process.env.LOCAL_BOTOCORE_DATA;
  process.env.LOCAL_BOTOCORE_DATA = '/nonexistent/botocore/data';
  try {
    await jest.isolateModulesAsync(async () => {
      // A fresh module registry: the data directory is resolved once per process.
      const { startLocalService } = await import('../../../local/service/server');
      await expect(
        startLocalService({
          stateDir: tmpDir('gate-'),
          motoEndpoint: 'http://127.0.0.1:9',
          containerBinDir: tmpDir('gate-bin-'),
          log: () => undefined,
        }),
      ).rejects.toThrow('LOCAL_BOTOCORE_DATA=/nonexistent/botocore/data does not exist');
    });
  } finally {
    if (saved === undefined) delete process.env.LOCAL_BOTOCORE_DATA;
    else process.env.LOCAL_BOTOCORE_DATA = saved;
  }
});

test('unknown members pass, named once per operation and member', () => {
  const lines: string[] = [];
  const gate = new ModelGate((l) => lines.push(l));
  expect(gate.json('sagemaker', 'ListTrainingJobs', { MaxResults: 10, Bogus: 1 })).toBeUndefined();
  expect(gate.json('sagemaker', 'ListTrainingJobs', { Bogus: 2 })).toBeUndefined();
  expect(lines).toEqual([
    "sagemaker ListTrainingJobs: ignored 'bogus', a member AWS's model does not define (AWS ignores it too)",
  ]);
  expect(gate.json('sagemaker', 'ListTrainingJobs', { MaxResults: 0 })?.code).toBe('ValidationException');
});

describe('through the wire', () => {
  let svc: LocalService;
  afterAll(async () => svc?.close());

  test('a refused request gets AWS’s answer over the wire, before any handler', async () => {
    svc = await startService('http://127.0.0.1:9', tmpDir('gate-wire-'));
    await expect(sagemaker(svc.url).send(new ListTrainingJobsCommand({ MaxResults: 1000 }))).rejects.toMatchObject({
      name: 'ValidationException',
      message:
        "1 validation error detected: Value '1000' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100",
      $metadata: { httpStatusCode: 400 },
    });
  });
});
