/**
 * `npm run chaos -- [campaign] [options]`: the reliability campaigns in bench/chaos/campaigns/, results to
 * bench/results/.
 */
import path from 'node:path';
import { dispatch } from '../lib/dispatch';

dispatch('chaos', path.join(__dirname, 'campaigns'), process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[chaos] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
