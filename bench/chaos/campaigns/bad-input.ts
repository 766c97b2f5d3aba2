/**
 * Bad input: the corpus in bench/chaos/corpus/bad-input/ — broken pipeline specs (through the CLI's validate command),
 * broken hyperparameters (through the container's real `train`, whose failure file becomes FailureReason) and broken
 * /invocations requests plus slowloris clients (against a real `serve` of a tiny trained model) — each must get a
 * clear error naming the problem, while good requests keep their latency: good p50/p99 are measured before, during
 * and after the abuse. Target: every case answered as expected, no good request failed, the server up, and good p99
 * during the abuse at most 2x (+25 ms) the p99 before it.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../../local/stack/config';
import { sleep } from '../../../local/shared/procs';
import { loadSpecCases, specText } from '../corpus/bad-input/spec-cases';
import { validateCommand } from '../../../worker/commands/validate';
import { writeResult } from '../../lib/results';
import { LoadClient, ms, quantile } from '../lib/load-client';
import { rawRequest, slowRequest } from '../lib/raw-http';
import { startServe } from '../lib/serve-process';
import { CONTAINER_BIN } from '../../../testing/local-harness';
import { trainTinyModel } from '../lib/tiny-model';
import type { Command } from 'commander';
import { positiveNumber } from '../../../worker/command-line';

export const about =
  'broken specs, hyperparameters and /invocations payloads (slowloris too): clear errors, server up, good p99 ' +
  'unaffected';

const execFileP = promisify(execFile);
const CORPUS_DIR = path.join(REPO_ROOT, 'bench/chaos/corpus/bad-input');
const GOOD = JSON.stringify({ inputs: 'The ', parameters: { max_new_tokens: 4 } });

interface InvocationCase {
  name: string;
  category: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  bodyBase64?: string;
  bodyRepeat?: { text: string; times: number };
  expectStatus: number;
  expectMessage: string;
}

/** Counts per category: cases, attempts, answers as expected, and the first few surprises. */
class Tally {
  readonly rows = new Map<string, { cases: Set<string>; sent: number; ok: number; bad: number; examples: string[] }>();

  add(category: string, name: string, ok: boolean, detail: string): void {
    let r = this.rows.get(category);
    if (!r) this.rows.set(category, (r = { cases: new Set(), sent: 0, ok: 0, bad: 0, examples: [] }));
    r.cases.add(name);
    r.sent++;
    if (ok) r.ok++;
    else {
      r.bad++;
      if (r.examples.length < 3) r.examples.push(`${name}: ${detail.slice(0, 200)}`);
    }
  }
}

async function specs(tally: Tally, dir: string): Promise<number> {
  let slowest = 0;
  for (const c of loadSpecCases()) {
    const file = path.join(dir, `${c.name}.json`);
    fs.writeFileSync(file, specText(c));
    const err: string[] = [];
    const t0 = performance.now();
    const code = await validateCommand(
      file,
      () => undefined,
      (l) => err.push(l),
    );
    slowest = Math.max(slowest, performance.now() - t0);
    const lines = err.join('\n').split('\n');
    const named =
      c.expect.every((p) => lines.some((l) => l.startsWith(`${p}: `))) &&
      (!c.message || err.join('\n').includes(c.message));
    tally.add(
      `spec: ${c.category}`,
      c.name,
      code === 1 && named && err.join('\n').length < 2000,
      `exit ${code}: ${err.join(' | ')}`,
    );
  }
  return slowest;
}

async function hyperparameters(tally: Tally, dir: string): Promise<void> {
  const cases = (
    JSON.parse(fs.readFileSync(path.join(CORPUS_DIR, 'hyperparameters.json'), 'utf8')) as {
      cases: { name: string; hyperparameters: Record<string, string>; expect: string }[];
    }
  ).cases;
  for (const c of cases) {
    const base = path.join(dir, 'hp', c.name);
    fs.mkdirSync(path.join(base, 'input/config'), { recursive: true });
    fs.writeFileSync(path.join(base, 'input/config/hyperparameters.json'), JSON.stringify(c.hyperparameters));
    const exit = await execFileP(path.join(CONTAINER_BIN, 'train'), [], {
      env: { ...process.env, SAGEMAKER_BASE_DIR: base, JAX_PLATFORMS: 'cpu' },
      timeout: 300_000,
    }).then(
      () => 0,
      (e: { code?: number }) => e.code ?? -1,
    );
    const failure = fs.existsSync(path.join(base, 'output/failure'))
      ? fs.readFileSync(path.join(base, 'output/failure'), 'utf8')
      : '(no failure file)';
    tally.add(
      'hyperparameters (train → FailureReason)',
      c.name,
      exit !== 0 && failure.includes(c.expect),
      `exit ${exit}: ${failure}`,
    );
  }
}

function caseBody(c: InvocationCase): Buffer {
  if (c.bodyBase64) return Buffer.from(c.bodyBase64, 'base64');
  if (c.bodyRepeat) return Buffer.from(c.bodyRepeat.text.repeat(c.bodyRepeat.times));
  return Buffer.from(c.body);
}

function expected(c: InvocationCase, status: number, body: string): boolean {
  if (status !== c.expectStatus) return false;
  try {
    return (JSON.parse(body) as { message?: string }).message?.includes(c.expectMessage) ?? false;
  } catch {
    return false;
  }
}

/** The campaign's options. */
export function options(cmd: Command): Command {
  return cmd
    .option('--rate <per-second>', 'good requests per second', positiveNumber, 20)
    .option('--concurrency <n>', 'good requests in flight at most', positiveNumber, 8)
    .option('--phase-s <seconds>', 'seconds per phase', positiveNumber, 20)
    .option('--bad-rate <per-second>', 'bad requests per second', positiveNumber, 10)
    .option('--slow-clients <n>', 'slow (1 byte/s) clients', positiveNumber, 20)
    .option('--read-timeout-s <seconds>', "the server's read timeout the slow clients run into", positiveNumber, 10);
}

export async function run(opts: {
  rate: number;
  concurrency: number;
  phaseS: number;
  badRate: number;
  slowClients: number;
  readTimeoutS: number;
}): Promise<void> {
  const { rate, concurrency, phaseS, badRate, slowClients, readTimeoutS } = opts;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-bad-input-'));
  const tally = new Tally();
  let serve: Awaited<ReturnType<typeof startServe>> | undefined;
  try {
    console.log('[bad-input] specs through the CLI validate command');
    fs.mkdirSync(path.join(work, 'specs'));
    const slowestSpecMs = await specs(tally, path.join(work, 'specs'));
    console.log('[bad-input] hyperparameters through the container train entrypoint');
    await hyperparameters(tally, work);

    console.log('[bad-input] training the tiny model and starting serve');
    const modelDir = trainTinyModel(path.join(work, 'model'));
    fs.mkdirSync(path.join(work, 'serve'));
    serve = await startServe(modelDir, path.join(work, 'serve'), { JAXSM_READ_TIMEOUT_S: String(readTimeoutS) });
    const port = serve.port;
    const cases = (
      JSON.parse(fs.readFileSync(path.join(CORPUS_DIR, 'invocations.json'), 'utf8')) as { cases: InvocationCase[] }
    ).cases;

    const good = new LoadClient({
      url: `http://127.0.0.1:${port}/invocations`,
      body: GOOD,
      ratePerSec: rate,
      concurrency,
    });
    good.phase = 'before the abuse';
    good.start();
    await sleep(phaseS * 1000);

    good.phase = 'during the abuse';
    let abusing = true;
    // The corpus, round-robin at a fixed rate (bounded: one request at a time per tick).
    const corpus = (async () => {
      for (let i = 0; abusing; i++) {
        const c = cases[i % cases.length] as InvocationCase;
        const t0 = Date.now();
        const a = await rawRequest(port, c.method, c.path, c.headers, caseBody(c), 30_000);
        tally.add(`invocations: ${c.category}`, c.name, expected(c, a.status, a.body), `${a.status} ${a.body}`);
        await sleep(Math.max(0, 1000 / badRate - (Date.now() - t0)));
      }
    })();
    // Slowloris: each client trickles a body one byte a second until the server gives up on it (408), then again.
    const slow = Array.from({ length: slowClients }, async (_, k) => {
      await sleep((k * 1000) / slowClients);
      while (abusing) {
        const a = await slowRequest(port, Buffer.from(GOOD), 1000, (readTimeoutS + 30) * 1000);
        tally.add(
          'invocations: slow clients (1 byte/s)',
          'slow-body',
          a.status === 408 && /not received within/.test(a.body),
          `${a.status} after ${a.bytesSent} bytes: ${a.body}`,
        );
      }
    });
    await sleep(phaseS * 1000);
    abusing = false;
    good.phase = 'after the abuse';
    await Promise.all([corpus, ...slow]);
    await sleep(Math.min(phaseS, 10) * 1000);
    await good.stop();
    const alive = serve.alive();

    const goodRows = ['before the abuse', 'during the abuse', 'after the abuse'].map((p) => {
      const ss = good.samples.filter((s) => s.phase === p);
      const okLat = ss.filter((s) => s.status === 200).map((s) => s.latencyMs);
      return { p, sent: ss.length, ok: okLat.length, p50: quantile(okLat, 0.5), p99: quantile(okLat, 0.99) };
    });
    const rows: (string | number)[][] = [
      ...[...tally.rows.entries()].map(([cat, r]) => [cat, r.cases.size, r.sent, r.ok, r.bad, '-', '-']),
      ...goodRows.map((g) => [`good requests ${g.p}`, 1, g.sent, g.ok, g.sent - g.ok, ms(g.p50), ms(g.p99)]),
    ];
    const [before, during] = goodRows as [(typeof goodRows)[number], (typeof goodRows)[number]];
    const p99Limit = 2 * before.p99 + 25;
    const surprises = [...tally.rows.entries()].flatMap(([cat, r]) => r.examples.map((e) => `${cat}: ${e}`));
    writeResult({
      name: 'chaos-bad-input',
      title: 'Chaos: bad input',
      command:
        `npm run chaos -- bad-input --rate ${rate} --concurrency ${concurrency} --phase-s ${phaseS} --bad-rate ` +
        `${badRate} --slow-clients ${slowClients} --read-timeout-s ${readTimeoutS}`,
      columns: ['input', 'cases', 'sent', 'answered as expected', 'unexpected', 'good p50 ms', 'good p99 ms'],
      rows,
      notes: [
        `Specs: each case of bench/chaos/corpus/bad-input/specs.json through the CLI's validate command (in ` +
          `process); "as expected" = exit 1, every expected JSON path named at the start of a line, the expected ` +
          `message, and an error under 2,000 characters (the slowest case, an 8 MiB spec, took ` +
          `${slowestSpecMs.toFixed(0)} ms). migrationPipeline refuses the same cases with SpecInvalid before any ` +
          `activity: test/workflows/bad-spec.test.ts.`,
        'Hyperparameters: each case of hyperparameters.json through the container\'s real `train`; "as ' +
          'expected" = non-zero exit and /opt/ml/output/failure (SageMaker\'s FailureReason) naming the ' +
          'hyperparameter. The spec only checks their shape, because script-mode programs take any hyperparameter.',
        `Invocations: a real \`serve\` (built-in handler, tiny trained LM) on loopback. Good traffic: ${rate} ` +
          `req/s, at most ${concurrency} in flight, for ${phaseS} s before, ${phaseS} s during and ` +
          `${Math.min(phaseS, 10)} s after the abuse. Abuse: the ${cases.length} cases of invocations.json ` +
          `round-robin at ${badRate} req/s over raw HTTP ("as expected" = the case's status with a JSON error ` +
          `whose message names the problem), plus ${slowClients} slowloris clients sending a body one byte a ` +
          `second (JAXSM_READ_TIMEOUT_S=${readTimeoutS}, default 60; "as expected" = 408 with a JSON error).`,
        `Server alive after the abuse: ${alive ? 'yes' : 'NO'}. Good p99 during the abuse ${ms(during.p99)} ms ` +
          `vs limit ${ms(p99Limit)} ms (2x the p99 before + 25 ms).`,
        surprises.length
          ? `Unexpected answers (first few): ${surprises.join(' | ')}`
          : 'Every case was answered as expected.',
        'The machine is shared (2 cores): latencies are provisional and comparable only within this run.',
      ],
    });
    const failures: string[] = [];
    if (surprises.length)
      failures.push(`${[...tally.rows.values()].reduce((s, r) => s + r.bad, 0)} case(s) not answered as expected`);
    if (goodRows.some((g) => g.ok !== g.sent))
      failures.push(`${goodRows.reduce((s, g) => s + g.sent - g.ok, 0)} good request(s) failed`);
    if (!alive) failures.push('serve is not running after the abuse');
    if (!(during.p99 <= p99Limit)) failures.push(`good p99 during the abuse ${ms(during.p99)} ms > ${ms(p99Limit)} ms`);
    if (failures.length) throw new Error(`bad-input target missed: ${failures.join('; ')}`);
  } finally {
    await serve?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
