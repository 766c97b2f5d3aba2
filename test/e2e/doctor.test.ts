/**
 * `npm run cli -- doctor --spec <file>` against a local stack (moto + the local service, IAM enforced), signed as the
 * worker: local mode answers Service Quotas like a new account (large GPU training quotas at 0), so the AWS example's
 * 4 x ml.p4de.24xlarge is refused with the quota named and the command that requests more, while the demo passes; a
 * quota the test lowers (LOCAL_SERVICE_QUOTAS) refuses the demo's blue/green update, which needs two fleets.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { WORKER_CREDENTIALS } from '../../local/shared/credentials';
import type { LocalService } from '../../local/service/server';
import { runOperatorCli } from '../../worker/cli';
import { type Moto, s3, startMoto, startService, tmpDir } from '../unit/local/helpers';

jest.setTimeout(120_000);

const REPO = path.join(__dirname, '../..');
const LOCAL_SPEC = path.join(REPO, 'examples/pipeline.local.json');
const AWS_SPEC = path.join(REPO, 'examples/pipeline.aws.json');

let moto: Moto;
let svc: LocalService;
let overrides: string;
const saved = { ...process.env };

beforeAll(async () => {
  overrides = path.join(tmpDir('doctor-quotas-'), 'quotas.json');
  fs.writeFileSync(overrides, '{}');
  process.env.LOCAL_SERVICE_QUOTAS = overrides;
  moto = await startMoto();
  svc = await startService(moto.url, tmpDir('doctor-'));
  await s3(svc.url).send(new CreateBucketCommand({ Bucket: 'acme-ml-pipelines' }));
  // The CLI's clients read the standard variables, as they would on a worker.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: svc.url,
    AWS_ACCESS_KEY_ID: WORKER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: WORKER_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
});

afterAll(async () => {
  process.env = saved;
  await svc?.close();
  await moto?.stop();
});

async function doctor(spec: string): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runOperatorCli(['doctor', '--spec', spec], process.env, {
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
  });
  return { code, out: lines.join('\n') };
}

it('passes the demo spec: its CPU quotas, roles, permissions, bucket and repository', async () => {
  const r = await doctor(LOCAL_SPEC);
  expect(r.out).not.toMatch(/PROBLEM/);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/"ml\.m5\.large for endpoint usage" \(L-614B09FD\): need 4, have 4 \(endpoint: 2 fleets of 2/);
  expect(r.out).toMatch(
    /arn:aws:iam::123456789012:role\/SageMakerExecutionRole exists and trusts sagemaker\.amazonaws\.com/,
  );
  expect(r.out).toMatch(
    /PipelineWorkerRole may call iam:PassRole on arn:aws:iam::123456789012:role\/CodeBuildImageRole/,
  );
  expect(r.out).toMatch(/ECR repository jax-lm does not exist yet: buildImage creates it/);
  expect(r.out).toMatch(/^OK: /m);
});

it("refuses the AWS example's 4 x ml.p4de.24xlarge, naming each quota, what it needs, what the account has and the fix", async () => {
  const r = await doctor(AWS_SPEC);
  expect(r.code).toBe(1);
  // Spot training on p4de (a quota our code table lacks: found by its name), the tuner's 3 parallel p4d trials, and the
  // endpoint's two fleets of up to 4 x ml.g5.2xlarge.
  expect(r.out).toMatch(
    /PROBLEM +quota +"ml\.p4de\.24xlarge for spot training job usage" \([^,]+, found by name\): the spec needs 4, the account has 0/,
  );
  expect(r.out).toMatch(
    /"ml\.p4d\.24xlarge for spot training job usage" \(L-09D56C4F\): the spec needs 3, the account has 0 \(tuning: 3 parallel trials x 1/,
  );
  expect(r.out).toMatch(/"ml\.g5\.2xlarge for endpoint usage" \(L-9614C779\): the spec needs 8, the account has 0/);
  expect(r.out).toMatch(
    /request: aws service-quotas request-service-quota-increase --region us-east-1 --service-code sagemaker --quota-code L-09D56C4F --desired-value 3/,
  );
  expect(r.out).toMatch(/^REFUSED: /m);
});

it('refuses the demo once its endpoint quota is below two fleets, and passes again when it is raised', async () => {
  fs.writeFileSync(overrides, JSON.stringify({ 'L-614B09FD': 3 }));
  const low = await doctor(LOCAL_SPEC);
  expect(low.code).toBe(1);
  expect(low.out).toMatch(/"ml\.m5\.large for endpoint usage" \(L-614B09FD\): the spec needs 4, the account has 3/);
  fs.writeFileSync(overrides, JSON.stringify({ 'L-614B09FD': 4 }));
  expect((await doctor(LOCAL_SPEC)).code).toBe(0);
});
