/**
 * A controllable SageMaker over HTTP, speaking the AWS JSON 1.1 protocol of the real SDK client (POST /,
 * `X-Amz-Target: SageMaker.<Operation>`): CreateTrainingJob, DescribeTrainingJob, StopTrainingJob. A bench flips a
 * job's status with `set` and reads when each Describe happened, so the unchanged activities can be timed against it.
 */
import http from 'node:http';

/** One training job as the stub keeps it. */
export interface StubJob {
  name: string;
  status: string;
  secondaryStatus: string;
  /** Date.now() of each DescribeTrainingJob answered for this job. */
  describes: number[];
  /** Date.now() of the last `set`. */
  changedAt: number;
  /** The tags CreateTrainingJob was given (the creating step's `pipeline:workflow-id` among them). */
  tags?: Record<string, string>;
}

/** The running stub. */
export interface SageMakerStub {
  endpoint: string;
  jobs: Map<string, StubJob>;
  /** Sets a job's status (creating the job when missing); returns the time of the change. */
  set(name: string, status: string, secondaryStatus: string): number;
  /** Every DescribeTrainingJob answered, all jobs together. */
  describeCount(): number;
  close(): Promise<void>;
}

const JSON_11 = 'application/x-amz-json-1.1';

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': JSON_11,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': `stub-${Date.now()}`,
  });
  res.end(text);
}

/** Starts the stub on 127.0.0.1 (a free port); new jobs start as `initial` (InProgress/Starting by default). */
export async function startSageMakerStub(
  initial: { status: string; secondaryStatus: string } = { status: 'InProgress', secondaryStatus: 'Starting' },
): Promise<SageMakerStub> {
  const jobs = new Map<string, StubJob>();
  let describeTotal = 0;
  const set = (name: string, status: string, secondaryStatus: string): number => {
    const now = Date.now();
    const job = jobs.get(name);
    if (job) Object.assign(job, { status, secondaryStatus, changedAt: now });
    else jobs.set(name, { name, status, secondaryStatus, describes: [], changedAt: now });
    return now;
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').replace(/^SageMaker\./, '');
      let body: { TrainingJobName?: string; Tags?: { Key: string; Value: string }[] };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as typeof body;
      } catch {
        return reply(res, 400, { __type: 'SerializationException', message: 'body is not JSON' });
      }
      const name = body.TrainingJobName ?? '';
      const job = jobs.get(name);
      switch (op) {
        case 'CreateTrainingJob':
          if (job) return reply(res, 400, { __type: 'ResourceInUse', message: `Training job ${name} already exists` });
          set(name, initial.status, initial.secondaryStatus);
          (jobs.get(name) as StubJob).tags = Object.fromEntries((body.Tags ?? []).map((t) => [t.Key, t.Value]));
          return reply(res, 200, { TrainingJobArn: `arn:aws:sagemaker:us-east-1:123456789012:training-job/${name}` });
        case 'DescribeTrainingJob': {
          if (!job)
            return reply(res, 400, {
              __type: 'ValidationException',
              message: `Requested resource not found: training job ${name}`,
            });
          job.describes.push(Date.now());
          describeTotal += 1;
          const done = job.status === 'Completed';
          return reply(res, 200, {
            TrainingJobName: name,
            TrainingJobArn: `arn:aws:sagemaker:us-east-1:123456789012:training-job/${name}`,
            TrainingJobStatus: job.status,
            SecondaryStatus: job.secondaryStatus,
            ...(done
              ? {
                  ModelArtifacts: { S3ModelArtifacts: `s3://b/models/${name}/output/model.tar.gz` },
                  FinalMetricDataList: [{ MetricName: 'val_loss', Value: 2.4 }],
                  BillableTimeInSeconds: 60,
                }
              : {}),
          });
        }
        case 'StopTrainingJob':
          if (!job)
            return reply(res, 400, {
              __type: 'ValidationException',
              message: `Requested resource not found: training job ${name}`,
            });
          set(name, 'Stopping', 'Stopping');
          return reply(res, 200, {});
        default:
          return reply(res, 400, {
            __type: 'UnknownOperationException',
            message: `the SageMaker stub does not implement ${op || '(no X-Amz-Target)'}`,
          });
      }
    });
  });
  // Keep-alive sockets from a thousand pollers must not pile up waiting for the default 5 s timeout to matter.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    jobs,
    set,
    describeCount: () => describeTotal,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
