/**
 * Loaded once per worker, before any workflow runs (the bundler's preloadModules, worker/workflow-bundle.ts): zod and
 * the contracts become modules every workflow run shares instead of evaluating its own copy (about 2.5 MiB a run).
 *
 * The SDK deep-freezes shared modules so runs cannot leak state through them, but zod keeps caching on a schema's
 * internals as it parses (its memoizer rewrites `_zod.parse` on first use), which a deep freeze breaks. Freezing each
 * exported schema here, shallowly, first stops the SDK's deep freeze at the schema: its exported bindings and own
 * fields stay read-only, and zod's caches below them keep working, as they do outside the sandbox. Those caches are
 * pure functions of the schema, so sharing them cannot carry state from one run to another. In exchange, workflow
 * code parses with `z.safeParse(schema, value)`, never `schema.safeParse(value)`: zod builds methods on the instance
 * at first read, which a frozen schema refuses (a lint rule keeps those calls out of workflows/ and contracts/).
 */
import { z } from 'zod';
import * as contracts from '../contracts';

for (const value of Object.values(contracts)) {
  if (value instanceof z.ZodType) Object.freeze(value);
}
