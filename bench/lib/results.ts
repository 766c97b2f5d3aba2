/** Writes a bench or chaos result: prints a markdown table and saves it to bench/results/<name>.md. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../local/stack/config';

/** One result file: a title, the command that reproduces it, a table, and notes on how to read it. */
export interface ResultTable {
  /** File name under bench/results/ without `.md`. */
  name: string;
  title: string;
  command: string;
  columns: string[];
  rows: (string | number)[][];
  /** Paragraphs printed under the table (what the numbers mean, the anchor, caveats). */
  notes?: string[];
}

/** Renders the table as markdown (numbers right-aligned). */
export function renderTable(t: Pick<ResultTable, 'columns' | 'rows'>): string {
  const numeric = t.columns.map((_, i) => t.rows.every((r) => typeof r[i] === 'number'));
  const head = `| ${t.columns.join(' | ')} |`;
  const sep = `|${numeric.map((n) => (n ? '---:' : '---')).join('|')}|`;
  const body = t.rows.map((r) => `| ${r.map((c) => String(c)).join(' | ')} |`);
  return [head, sep, ...body].join('\n');
}

/** Prints the result and writes bench/results/<name>.md; returns the file path. */
export function writeResult(t: ResultTable): string {
  const machine =
    `${os.cpus().length} CPU cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} ` +
    `GiB, Node ${process.version}`;
  const text = [
    `# ${t.title}`,
    '',
    `\`${t.command}\``,
    '',
    `Measured ${new Date().toISOString()} on ${machine}.`,
    '',
    renderTable(t),
    '',
    ...(t.notes ?? []).flatMap((n) => [n, '']),
    '',
  ].join('\n');
  const file = path.join(REPO_ROOT, 'bench/results', `${t.name}.md`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text.replace(/\n+$/, '\n'));
  console.log(`\n${text}`);
  console.log(`[bench] wrote ${path.relative(REPO_ROOT, file)}`);
  return file;
}
