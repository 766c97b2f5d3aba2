/** `npm run bench -- [name] [options]`: the benchmarks in bench/suite/, each writing a table to bench/results/. */
import path from 'node:path';
import { dispatch } from './lib/dispatch';

dispatch('bench', path.join(__dirname, 'suite'), process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
