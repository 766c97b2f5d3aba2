/** The local service's request log: one line per control-plane call, in arrival order, naming the resource. */
import { DescribeTrainingJobCommand, ListTrainingJobsCommand } from '@aws-sdk/client-sagemaker';
import path from 'node:path';
import { readRequestLog } from '../../../local/service/core/request-log';
import type { LocalService } from '../../../local/service/server';
import { sagemaker, startService, tmpDir } from './helpers';

describe('requests.log', () => {
  let svc: LocalService | undefined;
  afterEach(async () => svc?.close());

  test('records each SageMaker call with its arrival time, operation, resource name and status', async () => {
    const dir = tmpDir('local-requests-');
    // No moto needed: neither call touches S3 or CloudWatch.
    svc = await startService('http://127.0.0.1:9', dir);
    const client = sagemaker(svc.url);
    const before = Date.now();
    await client.send(new ListTrainingJobsCommand({}));
    await expect(client.send(new DescribeTrainingJobCommand({ TrainingJobName: 'no-such-job' }))).rejects.toMatchObject(
      { name: 'ValidationException' },
    );
    await svc.close();
    svc = undefined;

    const entries = readRequestLog(path.join(dir, 'requests.log'));
    expect(entries.map((e) => [e.op, e.name, e.status])).toEqual([
      ['SageMaker.ListTrainingJobs', undefined, 200],
      ['SageMaker.DescribeTrainingJob', 'no-such-job', 400],
    ]);
    expect(entries[0]?.t).toBeGreaterThanOrEqual(before);
    expect(entries[1]?.t).toBeGreaterThanOrEqual(entries[0]?.t ?? Infinity);
  });

  test('reads a missing log as empty', () => {
    expect(readRequestLog(path.join(tmpDir('local-requests-'), 'requests.log'))).toEqual([]);
  });
});
