/**
 * InvokeEndpointWithResponseStream on the local service, read by the real SDK clients (JS v3 and boto3): parts arrive
 * while the container is still answering, errors use AWS's shapes (ModelError before the stream, ModelStreamError
 * inside it), and the call routes like InvokeEndpoint. The container is the fixture server, so this stays fast.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import {
  InvokeEndpointWithResponseStreamCommand,
  type InvokeEndpointWithResponseStreamCommandOutput,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitUntil } from '../../../local/shared/procs';
import { streamLines } from '../../../worker/response-stream';
import type { LocalService } from '../../../local/service/server';
import {
  credentials,
  type Moto,
  REPO,
  ROLE,
  s3,
  sagemaker,
  seedBucket,
  startMoto,
  startService,
  tmpDir,
} from './helpers';

jest.setTimeout(60_000);

let moto: Moto;
let svc: LocalService;
let sm: SageMakerClient;
let rt: SageMakerRuntimeClient;
let dir: string;
const gate = () => path.join(dir, 'gate');

beforeAll(async () => {
  moto = await startMoto();
  dir = tmpDir('local-stream-');
  fs.mkdirSync(path.join(dir, 'model'));
  fs.writeFileSync(path.join(dir, 'model', 'model.json'), JSON.stringify({ steps: 1 }));
  execFileSync('tar', ['-czf', path.join(dir, 'model.tar.gz'), '-C', path.join(dir, 'model'), '.']);
  await seedBucket(s3(moto.url), 'models', {});
  await s3(moto.url).send(
    new PutObjectCommand({
      Bucket: 'models',
      Key: 'm/model.tar.gz',
      Body: fs.readFileSync(path.join(dir, 'model.tar.gz')),
    }),
  );
  svc = await startService(moto.url, path.join(dir, 'state'));
  sm = sagemaker(svc.url);
  rt = new SageMakerRuntimeClient({ endpoint: svc.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  for (const [name, tag] of [
    ['m-a', 'a'],
    ['m-b', 'b'],
  ] as const) {
    await sm.send(
      new CreateModelCommand({
        ModelName: name,
        ExecutionRoleArn: ROLE,
        PrimaryContainer: {
          Image: 'jax:latest',
          ModelDataUrl: 's3://models/m/model.tar.gz',
          Environment: { FAKE_TAG: tag, FAKE_STREAM_GATE: gate(), FAKE_STREAM_GAP: '0.01' },
        },
      }),
    );
  }
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'cfg-s',
      ProductionVariants: [
        {
          VariantName: 'a',
          ModelName: 'm-a',
          InitialInstanceCount: 1,
          InstanceType: 'ml.m5.large',
          InitialVariantWeight: 1,
        },
        {
          VariantName: 'b',
          ModelName: 'm-b',
          InitialInstanceCount: 1,
          InstanceType: 'ml.m5.large',
          InitialVariantWeight: 1,
        },
      ],
    }),
  );
  await sm.send(new CreateEndpointCommand({ EndpointName: 'ep-s', EndpointConfigName: 'cfg-s' }));
  await waitUntil(
    async () => (await sm.send(new DescribeEndpointCommand({ EndpointName: 'ep-s' }))).EndpointStatus === 'InService',
    30_000,
    'endpoint ep-s',
    100,
  );
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

function stream(inputs: string, variant?: string): Promise<InvokeEndpointWithResponseStreamCommandOutput> {
  return rt.send(
    new InvokeEndpointWithResponseStreamCommand({
      EndpointName: 'ep-s',
      ContentType: 'application/json',
      Accept: 'application/jsonlines',
      Body: JSON.stringify({ inputs }),
      ...(variant ? { TargetVariant: variant } : {}),
    }),
  );
}

test('payload parts arrive while the container is still answering; headers name the variant and content type', async () => {
  fs.rmSync(gate(), { force: true });
  const res = await stream('one two three four', 'b');
  expect(res.InvokedProductionVariant).toBe('b');
  expect(res.ContentType).toBe('application/jsonlines');
  const lines: string[] = [];
  for await (const line of streamLines(res.Body)) {
    lines.push(line);
    // The container holds the rest of its answer until the gate file exists: the first part must get here first.
    if (lines.length === 1) fs.writeFileSync(gate(), '');
  }
  const objs = lines.map((l) => JSON.parse(l) as { token?: { text: string }; tag?: string; generated_text?: string });
  expect(objs.slice(0, -1).map((o) => o.token?.text)).toEqual(['one', 'two', 'three', 'four']);
  expect(objs.every((o) => o.tag === undefined || o.tag === 'b')).toBe(true);
  expect(objs.at(-1)).toEqual({ generated_text: 'one two three four' });
});

test('routes by variant weight like InvokeEndpoint', async () => {
  fs.writeFileSync(gate(), '');
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 16; i++) {
    const res = await stream('hi');
    for await (const ev of res.Body ?? []) void ev;
    seen.add(res.InvokedProductionVariant);
  }
  expect([...seen].sort()).toEqual(['a', 'b']);
});

test('a container error is a ModelError before the stream; a broken stream ends in ModelStreamError (StreamBroken)', async () => {
  fs.writeFileSync(gate(), '');
  await expect(
    rt.send(
      new InvokeEndpointWithResponseStreamCommand({
        EndpointName: 'ep-s',
        ContentType: 'application/json',
        Body: '{}',
      }),
    ),
  ).rejects.toMatchObject({ name: 'ModelError', OriginalStatusCode: 400, $metadata: { httpStatusCode: 424 } });
  await expect(
    rt.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'nope', Body: '{}' })),
  ).rejects.toMatchObject({ name: 'ValidationError' });
  const res = await stream('a b break c');
  const got: string[] = [];
  await expect(
    (async () => {
      for await (const ev of res.Body ?? []) got.push(Buffer.from(ev.PayloadPart?.Bytes ?? []).toString('utf8'));
    })(),
  ).rejects.toMatchObject({ name: 'ModelStreamError', ErrorCode: 'StreamBroken' });
  expect(got.join('')).toContain('"break"');
});

test('boto3 reads the same stream (EventStream of PayloadPart)', async () => {
  fs.writeFileSync(gate(), '');
  const script = `
import boto3, json, sys
rt = boto3.client("sagemaker-runtime", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="localadmin", aws_secret_access_key="local")
r = rt.invoke_endpoint_with_response_stream(EndpointName="ep-s", Body=json.dumps({"inputs": "x y"}),
                                            ContentType="application/json", Accept="application/jsonlines")
parts = [e["PayloadPart"]["Bytes"].decode() for e in r["Body"]]
print(json.dumps({"variant": r["InvokedProductionVariant"], "type": r["ContentType"], "text": "".join(parts)}))
`;
  // Asynchronously: the service answering boto3 runs on this process's event loop.
  const { stdout } = await promisify(execFile)(path.join(REPO, '.venv/bin/python'), ['-c', script, svc.url]);
  const out = JSON.parse(stdout) as { variant: string; type: string; text: string };
  expect(['a', 'b']).toContain(out.variant);
  expect(out.type).toBe('application/jsonlines');
  expect(
    out.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as unknown),
  ).toHaveLength(3);
});
