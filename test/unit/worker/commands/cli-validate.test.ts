import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateCommand } from '../../../../worker/commands/validate';

const run = async (file: string) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await validateCommand(
    file,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
};
const dir = mkdtempSync(join(tmpdir(), 'cli-'));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

describe('cli validate', () => {
  it.each(['examples/pipeline.local.json', 'examples/pipeline.aws.json'])('prints one OK line for %s', async (file) => {
    const r = await run(join(__dirname, '../../../..', file));
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toHaveLength(1);
    expect(r.out).toMatch(/^OK /);
  });

  it('exits 1 listing each invalid field by path', async () => {
    const r = await run(
      write(
        'bad.json',
        JSON.stringify({ pipelineName: 'x', roleArn: 'r', training: { instanceCount: -1 }, extra: true }),
      ),
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\$\.roleArn: must be an IAM role ARN/);
    expect(r.err).toMatch(/\$\.training\.instanceCount: /);
    expect(r.err).toMatch(/\$: unknown key "extra"/);
  });

  it('accepts the optional prepareData and evaluation steps, and names what an enabled evaluation lacks', async () => {
    const base = JSON.parse(readFileSync(join(__dirname, '../../../../examples/pipeline.local.json'), 'utf8'));
    const on = await run(
      write(
        'steps.json',
        JSON.stringify({
          ...base,
          prepareData: { enabled: true, arguments: ['--source', 'builtin'] },
          evaluation: { enabled: true, maxRegression: 0.02 },
        }),
      ),
    );
    expect(on.err).toBe('');
    expect(on.code).toBe(0);
    write('records.jsonl', '{"score": "held out"}\n');
    const local = await run(
      write(
        'local-eval.json',
        JSON.stringify({ ...base, evaluation: { enabled: true, input: { localPath: 'records.jsonl' } } }),
      ),
    );
    expect(local.err).toBe('');
    expect(local.code).toBe(0);
    const missing = await run(
      write(
        'missing-eval.json',
        JSON.stringify({ ...base, evaluation: { enabled: true, input: { localPath: 'nope.jsonl' } } }),
      ),
    );
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/\$\.evaluation\.input\.localPath: .*nope\.jsonl does not exist/);
    const lacking = await run(
      write(
        'no-eval-input.json',
        JSON.stringify({ ...base, prepareData: { enabled: false }, evaluation: { enabled: true } }),
      ),
    );
    expect(lacking.code).toBe(1);
    expect(lacking.err).toMatch(/\$\.evaluation\.input: evaluation is enabled: give its input/);
  });

  it('explains malformed JSON and missing files', async () => {
    expect((await run(write('broken.json', '{"a":'))).err).toMatch(/not valid JSON/);
    expect((await run(join(dir, 'nope.json'))).err).toMatch(/cannot read/);
  });
});
