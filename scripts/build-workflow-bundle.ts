/**
 * Prebuilds the workflow bundle for production workers (`npm run build`; set WORKFLOW_BUNDLE_PATH to use it). Its
 * first line names the workflow source hash it was built from, which a worker running it reports as its build ID.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflows } from '../worker/workflow-bundle';
import { workflowSourceHash } from '../worker/workflow-version';

async function main(): Promise<void> {
  const hash = workflowSourceHash();
  const code = await bundleWorkflows();
  const out = join(__dirname, '..', 'dist', 'workflow-bundle.js');
  mkdirSync(join(__dirname, '..', 'dist'), { recursive: true });
  writeFileSync(out, code);
  console.log(
    `wrote ${out} (${(code.length / 1024).toFixed(0)} KiB, workflow source hash ${hash}); run the worker with WORKFLOW_BUNDLE_PATH=${out}`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
