/**
 * Streaming end to end: an endpoint of the in-process local service runs the container's real `serve`
 * (container/.venv) on a small model, and the AWS SDK's InvokeEndpointWithResponseStreamCommand reads the answer
 * token by token: one JSON line per token as the engine produces it, then the final line with the whole text and the
 * server's time to first token. The same request through InvokeEndpoint gives the same text.
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
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../local/stack/config';
import { waitUntil } from '../../local/shared/procs';
import { type PayloadEvent, streamLines } from '../../worker/response-stream';
import type { LocalService } from '../../local/service/server';
import {
  credentials,
  type Moto,
  ROLE,
  s3,
  sagemaker,
  seedBucket,
  startMoto,
  startService,
  tmpDir,
} from '../unit/local/helpers';

jest.setTimeout(900_000);

const BIN = path.join(REPO_ROOT, 'container/.venv/bin');
const NEW_TOKENS = 24;

let moto: Moto;
let svc: LocalService | undefined;
let sm: SageMakerClient;
let rt: SageMakerRuntimeClient;

/** A 2-layer model written by the trainer's own write_model (random weights: generation cost and framing are real). */
function writeModel(dir: string): void {
  const code = `
import sys, jax
from pathlib import Path
from jaxsm.config import parse_hyperparameters
from jaxsm.model import ModelConfig, build_model, init_params
from jaxsm.train import write_model
cfg = parse_hyperparameters({"n_layers": "2", "d_model": "64", "n_heads": "2", "seq_len": "64", "warmup_steps": "0"})
model = build_model(ModelConfig.from_dict(cfg.model_dict()))
write_model(Path(sys.argv[1]), cfg, jax.device_get(init_params(model, 0)), {})
`;
  execFileSync(path.join(BIN, 'python'), ['-c', code, dir], { env: { ...process.env, JAX_PLATFORMS: 'cpu' } });
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(BIN, 'serve')))
    throw new Error(`${BIN}/serve is missing: run \`bash scripts/bootstrap.sh\` (it creates container/.venv)`);
  const dir = tmpDir('runtime-stream-');
  writeModel(path.join(dir, 'model'));
  execFileSync('tar', ['-czf', path.join(dir, 'model.tar.gz'), '-C', path.join(dir, 'model'), '.']);
  moto = await startMoto();
  await seedBucket(s3(moto.url), 'models', {});
  await s3(moto.url).send(
    new PutObjectCommand({
      Bucket: 'models',
      Key: 'lm/model.tar.gz',
      Body: fs.readFileSync(path.join(dir, 'model.tar.gz')),
    }),
  );
  svc = await startService(moto.url, path.join(dir, 'state'), { containerBinDir: BIN, stopGraceMs: 30_000 });
  sm = sagemaker(svc.url);
  rt = new SageMakerRuntimeClient({ endpoint: svc.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  await sm.send(
    new CreateModelCommand({
      ModelName: 'lm',
      ExecutionRoleArn: ROLE,
      PrimaryContainer: {
        Image: 'jax:latest',
        ModelDataUrl: 's3://models/lm/model.tar.gz',
        Environment: { JAX_PLATFORMS: 'cpu', JAXSM_SLOTS: '2' },
      },
    }),
  );
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'lm-cfg',
      ProductionVariants: [
        { VariantName: 'main', ModelName: 'lm', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' },
      ],
    }),
  );
  await sm.send(new CreateEndpointCommand({ EndpointName: 'lm-ep', EndpointConfigName: 'lm-cfg' }));
  // The engine compiles its shapes before /ping is 200: minutes on a busy 2-core machine.
  await waitUntil(
    async () => {
      const d = await sm.send(new DescribeEndpointCommand({ EndpointName: 'lm-ep' }));
      if (d.EndpointStatus === 'Failed') throw new Error(`endpoint failed: ${d.FailureReason}`);
      return d.EndpointStatus === 'InService';
    },
    600_000,
    'endpoint lm-ep InService',
    500,
  );
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

const request = JSON.stringify({
  inputs: 'The assert statement',
  parameters: { max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS, temperature: 0 },
});

interface Line {
  token?: { id: number; text: string; index: number };
  generated_text?: string;
  details?: { generated_tokens: number; finish_reason: string; ttft_ms: number; total_ms: number };
}

test('InvokeEndpointWithResponseStream reads the answer token by token from the real server', async () => {
  const t0 = Date.now();
  const res = await rt.send(
    new InvokeEndpointWithResponseStreamCommand({
      EndpointName: 'lm-ep',
      ContentType: 'application/json',
      Accept: 'application/jsonlines',
      Body: request,
    }),
  );
  expect(res.ContentType).toBe('application/jsonlines');
  expect(res.InvokedProductionVariant).toBe('main');
  const lines: Line[] = [];
  const arrivals: number[] = [];
  async function* timed(body: typeof res.Body): AsyncGenerator<PayloadEvent> {
    for await (const ev of body ?? []) {
      expect(ev.PayloadPart).toBeDefined();
      arrivals.push(Date.now() - t0);
      yield ev;
    }
  }
  for await (const line of streamLines(timed(res.Body))) lines.push(JSON.parse(line) as Line);
  const tokens = lines.filter((l) => l.token);
  const final = lines.at(-1) as Line;
  // Every token on its own line, in order, then the final line.
  expect(tokens.map((l) => l.token?.index)).toEqual([...Array(NEW_TOKENS).keys()]);
  expect(lines).toHaveLength(NEW_TOKENS + 1);
  expect(final.details).toMatchObject({ generated_tokens: NEW_TOKENS, finish_reason: 'length' });
  expect(final.generated_text?.startsWith(tokens.map((l) => l.token?.text).join(''))).toBe(true);
  // Streamed, not buffered: the tokens came in more than one part.
  expect(arrivals.length).toBeGreaterThan(1);
  console.log(
    `[runtime-stream] ${arrivals.length} parts; first part after ${arrivals[0]} ms, last after ${arrivals.at(-1)} ms; ` +
      `server-side TTFT ${final.details?.ttft_ms} ms of ${final.details?.total_ms} ms`,
  );

  const whole = await rt.send(
    new InvokeEndpointCommand({ EndpointName: 'lm-ep', ContentType: 'application/json', Body: request }),
  );
  const body = JSON.parse(Buffer.from(whole.Body).toString('utf8')) as { generated_text: string };
  expect(body.generated_text).toBe(final.generated_text);
});

test('a streamed request for a list of prompts is a ModelError naming the problem', async () => {
  await expect(
    rt.send(
      new InvokeEndpointWithResponseStreamCommand({
        EndpointName: 'lm-ep',
        ContentType: 'application/json',
        Accept: 'application/jsonlines',
        Body: JSON.stringify({ inputs: ['a', 'b'] }),
      }),
    ),
  ).rejects.toMatchObject({
    name: 'ModelError',
    OriginalStatusCode: 400,
    OriginalMessage: expect.stringMatching(/one prompt/),
  });
});
