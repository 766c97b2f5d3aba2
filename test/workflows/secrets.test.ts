/**
 * No secret in what Temporal records or the worker logs: the real worker entry (`worker/main.ts`, payload codec on
 * from PAYLOAD_ENCRYPTION_KEY) runs with distinctive fake AWS credentials against a fake AWS that rejects them the
 * way AWS does (S3 echoes the access key ID in its error document), so every step fails on an AWS error — the path
 * where a credential is most likely to be copied into a failure message or a log. The recorded histories
 * (`temporal workflow show --output json`), the worker's output and test/histories/*.json are then scanned for
 * access key IDs, secret-key shapes, the exact credential values and the codec key.
 */
import { Client, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { filesUnder, type KnownSecret, scanFile, scanText } from '../../bench/chaos/lib/secret-scan';
import { waitUntil } from '../../local/shared/procs';
import { createCodecServer } from '../../worker/codec-server';
import { type AesGcmPayloadCodec, codecFromEnv } from '../../worker/payload-codec';
import { createDevServerEnv, TEMPORAL_CLI_PATH, uniqueTaskQueue } from '../../testing/temporal-test-env';

const ROOT = path.join(__dirname, '../..');
// Shaped like real credentials (AKIA + 16, 40-character secret) so the pattern rules are exercised too.
const ACCESS_KEY_ID = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
const SECRET_ACCESS_KEY = randomBytes(30).toString('base64');
const SESSION_TOKEN = `FwoGZXIvYXdzE${randomBytes(48).toString('base64')}`;
const CODEC_KEY = randomBytes(32);
const KNOWN: KnownSecret[] = [
  { name: 'AWS_ACCESS_KEY_ID', value: ACCESS_KEY_ID },
  { name: 'AWS_SECRET_ACCESS_KEY', value: SECRET_ACCESS_KEY },
  { name: 'AWS_SESSION_TOKEN', value: SESSION_TOKEN },
  { name: 'PAYLOAD_ENCRYPTION_KEY', value: CODEC_KEY },
];

let env: TestWorkflowEnvironment;
let fakeAws: http.Server;
let worker: ChildProcess | undefined;
let workerLog = '';
let client: Client;
let codec: AesGcmPayloadCodec;
const awsRequests: string[] = [];
const taskQueue = uniqueTaskQueue('secrets');

/** Answers every AWS call as AWS answers unknown credentials; S3's error document names the access key ID. */
function startFakeAws(): Promise<string> {
  fakeAws = http.createServer((req, res) => {
    req.resume();
    const target = req.headers['x-amz-target'];
    awsRequests.push(`${req.method} ${String(target ?? req.url)}`);
    const keyId = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (target) {
      res.writeHead(403, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-errortype': 'UnrecognizedClientException',
      });
      res.end(
        JSON.stringify({
          __type: 'UnrecognizedClientException',
          message: 'The security token included in the request is invalid.',
        }),
      );
      return;
    }
    if (req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
      // The query protocol (STS, IAM: the account preflight's first calls) answers in its own error document.
      res.writeHead(403, { 'content-type': 'text/xml' });
      res.end(
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>' +
          '<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.' +
          '</Message></Error><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>',
      );
      return;
    }
    res.writeHead(403, { 'content-type': 'application/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access ` +
        `Key Id you provided does not exist in our records.</Message><AWSAccessKeyId>${keyId}` +
        `</AWSAccessKeyId><RequestId>4442587FB7D0A2F9</RequestId><HostId>fake</HostId></Error>`,
    );
  });
  return new Promise((resolve) =>
    fakeAws.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(fakeAws.address() as AddressInfo).port}`)),
  );
}

beforeAll(async () => {
  env = await createDevServerEnv();
  const awsUrl = await startFakeAws();
  const workerEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: taskQueue,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN: SESSION_TOKEN,
    AWS_ENDPOINT_URL: awsUrl,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    PAYLOAD_ENCRYPTION_KEY: CODEC_KEY.toString('base64'),
    PAYLOAD_ENCRYPTION_KEY_ID: 'secrets-test',
  };
  worker = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), ['worker/main.ts'], {
    cwd: ROOT,
    env: workerEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout?.on('data', (c: Buffer) => (workerLog += c.toString('utf8')));
  worker.stderr?.on('data', (c: Buffer) => (workerLog += c.toString('utf8')));
  await waitUntil(
    () => /worker polling/.test(workerLog) || worker?.exitCode !== null,
    120_000,
    'the worker to start polling',
  );
  if (!/worker polling/.test(workerLog)) throw new Error(`worker did not start:\n${workerLog}`);
  codec = codecFromEnv(workerEnv) as AesGcmPayloadCodec;
  client = new Client({ connection: env.connection, dataConverter: { payloadCodecs: [codec] } });
});

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGINT');
    await waitUntil(() => worker?.exitCode !== null, 20_000, 'the worker to exit').catch(() => worker?.kill('SIGKILL'));
  }
  await new Promise((resolve) => fakeAws?.close(resolve));
  await env?.teardown();
});

function historyJson(workflowId: string): string {
  return execFileSync(
    TEMPORAL_CLI_PATH,
    ['workflow', 'show', '--workflow-id', workflowId, '--address', env.address, '--output', 'json'],
    { encoding: 'utf8' },
  );
}

async function runToFailure(type: string, workflowId: string, input: unknown): Promise<string> {
  const handle = await client.workflow.start(type, { taskQueue, workflowId, args: [input] });
  const error = await handle.result().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const messages: string[] = [];
  for (let e = error; e instanceof Error; e = (e as { cause?: unknown }).cause) messages.push(e.message);
  return messages.join(' <- ');
}

test(
  'a step whose AWS calls are refused fails naming the AWS error, and its history holds no credential or codec ' +
    'key',
  async () => {
    const why = await runToFailure('syncData', 'secrets-sync', {
      source: { s3Uri: 's3://secrets-source/data/' },
      bucket: 'secrets-target-bucket',
      prefix: 'data',
      channels: ['train', 'val'],
    });
    expect(why).toMatch(/InvalidAccessKeyId|AccessDenied|403/);
    expect(awsRequests.length).toBeGreaterThan(0);
    const history = historyJson('secrets-sync');
    // The codec is really on: the input's bucket name is not readable in the history.
    expect(history).not.toContain('secrets-target-bucket');
    expect(scanText('history secrets-sync', history, KNOWN)).toEqual([]);
  },
);

test('the pipeline failing at its first AWS call records and logs no credential or codec key', async () => {
  const spec = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples/pipeline.local.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const why = await runToFailure('migrationPipeline', 'secrets-pipeline', {
    ...spec,
    bucket: 'secrets-pipeline-bucket',
  });
  // The account preflight (checkAccount) makes the first AWS call, before any step starts.
  expect(why).toMatch(/InvalidClientTokenId|UnrecognizedClientException|InvalidAccessKeyId|AccessDenied/);
  const history = historyJson('secrets-pipeline');
  expect(history).not.toContain('secrets-pipeline-bucket');
  expect(scanText('history secrets-pipeline', history, KNOWN)).toEqual([]);
});

test("the worker's own output holds no credential or codec key", () => {
  // The worker logged the activity failures above (it says so), so there was something to leak.
  expect(workerLog).toMatch(/Activity failed[\s\S]*InvalidAccessKeyId/);
  expect(scanText('worker output', workerLog, KNOWN)).toEqual([]);
});

test('the recorded histories in test/histories hold no credentials or codec keys', () => {
  const files = filesUnder(path.join(ROOT, 'test/histories')).filter((f) => f.endsWith('.json'));
  expect(files.length).toBeGreaterThan(0);
  expect(files.flatMap((f) => scanFile(f, KNOWN))).toEqual([]);
});

test(
  'through the codec server (npm run codec-server), the Temporal CLI reads the encrypted history, and still no ' +
    'credential or key',
  async () => {
    const server = createCodecServer({ codec, allowedOrigins: [], token: 'cli-token' });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      // Asynchronously: the codec server answers from this process's event loop.
      const show = (extra: string[]) =>
        new Promise<string>((resolve, reject) =>
          execFile(
            TEMPORAL_CLI_PATH,
            [
              'workflow',
              'show',
              '--workflow-id',
              'secrets-sync',
              '--address',
              env.address,
              '--output',
              'json',
              '--codec-endpoint',
              endpoint,
              ...extra,
            ],
            { encoding: 'utf8', timeout: 60_000 },
            (err, stdout) => (err ? reject(err) : resolve(stdout)),
          ),
        );
      const decoded = await show(['--codec-auth', 'Bearer cli-token']);
      // Proto JSON: payload data is base64; decoded payloads are json/plain again.
      const payloadTexts = [...decoded.matchAll(/"data": "([A-Za-z0-9+/=]*)"/g)].map((m) =>
        Buffer.from(m[1] as string, 'base64').toString('utf8'),
      );
      expect(decoded).not.toContain(Buffer.from('binary/encrypted').toString('base64'));
      expect(payloadTexts.join('\n')).toContain('"bucket":"secrets-target-bucket"');
      expect(scanText('decoded history secrets-sync', `${decoded}\n${payloadTexts.join('\n')}`, KNOWN)).toEqual([]);
      // Without the token the server refuses, so the CLI cannot decode.
      await expect(show([])).rejects.toThrow();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  },
);
