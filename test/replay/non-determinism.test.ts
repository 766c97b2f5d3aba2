/**
 * What the kept histories are for: a workflow edit that changes the commands a run emits, shipped without a
 * patch(), fails replay of an older version's history, and the failure names the history and the event. The edit is
 * made on a copy of the workflow code in a temp dir (the real files are untouched): syncData moved before
 * publishImage in the pipeline, i.e. two steps reordered without `patched()`.
 */
import '../../testing/quiet-runtime';
import { replayHistories, type ReplayOutcome } from '../../worker/replay';
import { loadVersionHistories, readManifest } from '../../testing/history-sets';
import { copyWorkflowCode, REORDER_SYNC_BEFORE_PUBLISH, type WorkflowCopy } from '../../testing/workflow-copy';

let copy: WorkflowCopy | undefined;
afterAll(() => copy?.remove());

it('reordering two pipeline steps without a patch fails replay of the oldest live version, naming history and event', async () => {
  const oldest = readManifest().versions.find((v) => !v.retired);
  if (!oldest) throw new Error('the manifest lists no live version');
  const migration = loadVersionHistories(oldest).filter((h) => h.name === `${oldest.version}/record-migration.json`);
  expect(migration).toHaveLength(1);
  copy = copyWorkflowCode(REORDER_SYNC_BEFORE_PUBLISH);
  const outcomes: ReplayOutcome[] = [];
  for await (const o of replayHistories(migration, copy.source, 'reordered-steps')) outcomes.push(o);
  expect(outcomes).toHaveLength(1);
  const [o] = outcomes as [ReplayOutcome];
  expect(o).toMatchObject({
    name: `${oldest.version}/record-migration.json`,
    workflowType: 'migrationPipeline',
    ok: false,
  });
  expect(o.error).toMatch(/Nondeterminism/);
  // The event: the recorded run started publishImage where the edited code now starts syncData.
  expect(o.error).toMatch(
    /at history event \d+ EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED \(publishImage record-migration\/publishImage\)/,
  );
  expect(o.error).toMatch(/record-migration\/syncData/);
});
