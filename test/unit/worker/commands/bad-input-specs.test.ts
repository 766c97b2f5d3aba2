/**
 * The broken-spec corpus (bench/chaos/corpus/bad-input/specs.json) through `npm run cli -- validate`: every case exits
 * 1 with a short error that names each bad field by JSON path (or says the file is not JSON).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSpecCases, specText } from '../../../../bench/chaos/corpus/bad-input/spec-cases';
import { validateCommand } from '../../../../worker/commands/validate';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bad-specs-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.each(loadSpecCases().map((c) => [`${c.category}: ${c.name}`, c] as const))('%s', (_, c) => {
  it('is refused naming the problem', async () => {
    const file = path.join(dir, `${c.name}.json`);
    fs.writeFileSync(file, specText(c));
    const out: string[] = [];
    const err: string[] = [];
    const code = await validateCommand(
      file,
      (l) => out.push(l),
      (l) => err.push(l),
    );
    const text = err.join('\n');
    expect(code).toBe(1);
    expect(out).toEqual([]);
    const lines = text.split('\n');
    for (const p of c.expect) expect(lines.some((l) => l.startsWith(`${p}: `))).toBe(true);
    if (c.message) expect(text).toContain(c.message);
    // Readable whatever the input's size: an 8 MiB value or 20,000 unknown keys must not make a huge error.
    expect(text.length).toBeLessThan(2000);
  });
});
