import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { PIPELINE_STEPS } from '../../contracts';
import { workflowSource } from '../../worker/workflow-bundle';

const DIR = join(__dirname, '../histories');
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe(
  'replay of recorded histories (a determinism error here ' + 'means a workflow change breaks running workflows)',
  () => {
    it('has a history for the pipeline, the retraining pipeline and every step workflow', () => {
      const types = new Set(
        files.map(
          (f) =>
            JSON.parse(readFileSync(join(DIR, f), 'utf8')).events[0].workflowExecutionStartedEventAttributes
              .workflowType.name,
        ),
      );
      for (const t of ['migrationPipeline', 'retrainPipeline', ...PIPELINE_STEPS]) expect(types).toContain(t);
    });

    it('replays every file in test/histories without a determinism error', async () => {
      const histories = files.map((f) => ({
        workflowId: f.replace(/\.json$/, ''),
        history: historyFromJSON(JSON.parse(readFileSync(join(DIR, f), 'utf8'))),
      }));
      const failures: string[] = [];
      for await (const result of Worker.runReplayHistories(
        { ...workflowSource(), replayName: 'recorded-histories' },
        histories,
      )) {
        if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
      }
      expect(failures).toEqual([]);
      expect(histories.length).toBeGreaterThanOrEqual(16);
    });
  },
);
