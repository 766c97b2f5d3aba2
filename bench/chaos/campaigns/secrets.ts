/**
 * Secrets: scans what the project records and writes for AWS credentials and the payload codec key — bench/results/,
 * test/histories/, every .local-state*\/logs dir in the repository, and any paths given as arguments (a stack's state
 * dir, a worker log). Known values come from this process's environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, PAYLOAD_ENCRYPTION_KEY and the old keys); patterns catch any access key ID and secret-key
 * shape. Target: no finding.
 */
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../../local/stack/config';
import { writeResult } from '../../lib/results';
import { filesUnder, type Finding, type KnownSecret, scanFile } from '../lib/secret-scan';

export const about =
  'scan bench/results, test/histories, .local-state*/logs and given paths for AWS credentials and the payload ' +
  'codec key';

/** AWS's documentation example credentials: not secrets, allowed wherever they appear. */
const DOC_EXAMPLES = ['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'];

/**
 * The secrets this process knows from its environment (values shorter than 8 characters, like local mode's, are
 * skipped).
 */
export function knownFromEnv(env: NodeJS.ProcessEnv): KnownSecret[] {
  const known: KnownSecret[] = [];
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'TEMPORAL_API_KEY']) {
    const v = env[name];
    if (v && v.length >= 8) known.push({ name, value: v });
  }
  if (env.PAYLOAD_ENCRYPTION_KEY)
    known.push({ name: 'PAYLOAD_ENCRYPTION_KEY', value: Buffer.from(env.PAYLOAD_ENCRYPTION_KEY, 'base64') });
  for (const entry of (env.PAYLOAD_ENCRYPTION_OLD_KEYS ?? '').split(',').filter(Boolean)) {
    const [id, value] = entry.split(':');
    if (id && value) known.push({ name: `PAYLOAD_ENCRYPTION_OLD_KEYS ${id}`, value: Buffer.from(value, 'base64') });
  }
  return known;
}

/** The campaign's arguments: extra paths to scan. */
export function options(cmd: Command): Command {
  return cmd.argument('[paths...]', 'extra files or folders to scan');
}

export async function run(_opts: object, args: string[]): Promise<void> {
  const stateLogs = fs
    .readdirSync(REPO_ROOT)
    .filter((d) => d.startsWith('.local-state'))
    .map((d) => path.join(REPO_ROOT, d, 'logs'));
  const targets = [
    path.join(REPO_ROOT, 'bench/results'),
    path.join(REPO_ROOT, 'test/histories'),
    ...stateLogs,
    ...args.map((a) => path.resolve(a)),
  ];
  const known = knownFromEnv(process.env);
  const rows: (string | number)[][] = [];
  const all: Finding[] = [];
  for (const t of targets) {
    const files = filesUnder(t);
    const bytes = files.reduce((s, f) => s + fs.statSync(f).size, 0);
    const found = files.flatMap((f) => scanFile(f, known, DOC_EXAMPLES));
    all.push(...found);
    rows.push([
      path.relative(REPO_ROOT, t) || '.',
      fs.existsSync(t) ? 'yes' : 'missing',
      files.length,
      bytes,
      found.length,
    ]);
  }
  const notes = [
    `Rules: AWS access key IDs (\`AKIA\`/\`ASIA\` + 16), 40-character secret shapes next to a secret key name, ` +
      `and the exact values known from this environment: ` +
      (known.length
        ? known.map((k) => k.name).join(', ')
        : 'none set (local mode uses short placeholder credentials)') +
      ` (a binary key as raw bytes, base64, base64url and hex). AWS's documentation example keys are allowed.`,
    'The run-time side (a real worker with fake credentials and the codec on, its histories and log output) is ' +
      'the jest test test/workflows/secrets.test.ts in `npm test`.',
    all.length
      ? `Findings (redacted): ${all
          .slice(0, 10)
          .map((f) => `${path.relative(REPO_ROOT, f.where)}: ${f.rule}: ${f.excerpt}`)
          .join(' | ')}`
      : 'No finding.',
  ];
  writeResult({
    name: 'chaos-secrets',
    title: 'Chaos: secrets in recorded histories, results and logs',
    command: `npm run chaos -- secrets${args.length ? ` ${args.join(' ')}` : ''}`,
    columns: ['scanned', 'exists', 'files', 'bytes', 'findings'],
    rows,
    notes,
  });
  if (all.length) throw new Error(`${all.length} secret finding(s); see bench/results/chaos-secrets.md`);
}
