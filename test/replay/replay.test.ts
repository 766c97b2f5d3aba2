/**
 * Every kept history of every released version (test/histories/manifest.json) replayed against today's workflow
 * code: a determinism error here means a change would break runs that are in flight on that version.
 */
import '../../testing/quiet-runtime';
import { PIPELINE_STEPS, STEPS_ADDED_IN_V4 } from '../../contracts';
import { replayHistories, type ReplayOutcome } from '../../worker/replay';
import { workflowSource } from '../../worker/workflow-bundle';
import {
  historyWorkflowTypes,
  loadVersionHistories,
  missingHistoryFiles,
  readManifest,
  unlistedHistoryFiles,
} from '../../testing/history-sets';

const manifest = readManifest();
const live = manifest.versions.filter((v) => !v.retired);

describe('kept histories (test/histories/manifest.json)', () => {
  it('lists every history file once, in versions numbered in release order with distinct build IDs', () => {
    expect(unlistedHistoryFiles(manifest)).toEqual([]);
    expect(missingHistoryFiles(manifest)).toEqual([]);
    expect(manifest.versions.map((v) => v.version)).toEqual(manifest.versions.map((_, i) => `v${i + 1}`));
    expect(new Set(manifest.versions.map((v) => v.buildId)).size).toBe(manifest.versions.length);
  });

  it('keeps the current version and at least one older version live, each with the pipelines and every step', () => {
    expect(live.length).toBeGreaterThanOrEqual(2);
    // The optional steps of v4 are absent from histories recorded before them; from v4 on the recordings run them.
    const before = PIPELINE_STEPS.filter((s) => !STEPS_ADDED_IN_V4.includes(s));
    for (const v of live) {
      const steps = Number(v.version.slice(1)) >= 4 ? PIPELINE_STEPS : before;
      expect(historyWorkflowTypes(loadVersionHistories(v))).toEqual(
        expect.arrayContaining(['migrationPipeline', 'retrainPipeline', ...steps]),
      );
    }
  });

  it('replays every history of every live version on today’s code without a determinism error', async () => {
    const histories = live.flatMap((v) => loadVersionHistories(v));
    const outcomes: ReplayOutcome[] = [];
    for await (const o of replayHistories(histories, workflowSource(), 'kept-histories')) outcomes.push(o);
    expect(outcomes.filter((o) => !o.ok).map((o) => `${o.name} (${o.workflowType}): ${o.error}`)).toEqual([]);
    expect(outcomes).toHaveLength(histories.length);
  });
});
