/** Shared by `npm run bench` and `npm run chaos`: run the named modules of a folder, or all of them in order. */
import fs from 'node:fs';
import path from 'node:path';

/** A bench or campaign module: `export async function run(args: string[]): Promise<void>` and a one-line `about`. */
export interface Runnable {
  about: string;
  run(args: string[]): Promise<void>;
}

/** Lists `<dir>/*.ts` as names; runs the ones asked for (all when none), stopping at the first failure. */
export async function dispatch(kind: string, dir: string, argv: string[]): Promise<void> {
  const names = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'list') {
    console.log(`npm run ${kind} -- [name] [args]     (no name: all of them, one after another)\n`);
    for (const n of names) console.log(`  ${n.padEnd(18)} ${((await import(path.join(dir, n))) as Runnable).about}`);
    return;
  }
  const chosen = first === undefined ? names : [first];
  for (const n of chosen) {
    if (!names.includes(n)) throw new Error(`unknown ${kind} ${JSON.stringify(n)}: choose one of ${names.join(', ')}`);
    const mod = (await import(path.join(dir, n))) as Runnable;
    const started = Date.now();
    console.log(`[${kind}] ${n}: ${mod.about}`);
    await mod.run(first === undefined ? [] : rest);
    console.log(`[${kind}] ${n} done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}
