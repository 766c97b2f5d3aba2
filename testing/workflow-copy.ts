/**
 * A modified copy of the workflow code in a temp dir (workflows/ and contracts/, with node_modules linked), for tests
 * that show what replay does to a change without touching the real files.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReplaySource } from '../worker/replay';
import { WORKFLOW_SOURCE_DIRS } from '../worker/workflow-version';

const ROOT = join(__dirname, '..');

/** One textual edit of a file of the copy; `from` must occur exactly once, so a stale edit fails loudly. */
export interface SourceEdit {
  file: string;
  from: string;
  to: string;
}

/** A copy of the workflow code with `edits` applied. */
export interface WorkflowCopy {
  dir: string;
  /** Replay options that bundle the copy, as the project's workers bundle the real code. */
  source: ReplaySource;
  remove(): void;
}

/** Copies the workflow code to a temp dir and applies the edits. */
export function copyWorkflowCode(edits: SourceEdit[]): WorkflowCopy {
  const dir = mkdtempSync(join(tmpdir(), 'workflow-copy-'));
  for (const d of WORKFLOW_SOURCE_DIRS) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const e of edits) {
    const file = join(dir, e.file);
    const text = readFileSync(file, 'utf8');
    const count = text.split(e.from).length - 1;
    if (count !== 1) throw new Error(`edit of ${e.file}: expected the text once, found it ${count} times:\n${e.from}`);
    writeFileSync(file, text.replace(e.from, e.to));
  }
  return {
    dir,
    source: {
      workflowsPath: join(dir, 'workflows/index.ts'),
      bundlerOptions: { preloadModules: [join(dir, 'workflows/shared-modules.ts')] },
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const SYNC_STEP = `    const data = await step('syncData', (child) =>
      executeChild<typeof syncData>('syncData', { ...child, args: [plan.syncDataInput(spec)] }),
    );
`;
const PUBLISH_STEP = `    const image = await step('publishImage', (child) =>`;

/** A non-deterministic edit: the pipeline syncs data before publishing the image (two steps reordered, no patch). */
export const REORDER_SYNC_BEFORE_PUBLISH: SourceEdit[] = [
  { file: 'workflows/pipeline.ts', from: SYNC_STEP, to: '' },
  { file: 'workflows/pipeline.ts', from: PUBLISH_STEP, to: `${SYNC_STEP}${PUBLISH_STEP}` },
];
