/** The full migration: build → publish → sync → train → tune → register (approval gate) → blue/green deploy. */
import type { PipelineSpecInput } from '../contracts/pipeline-spec';
import type { PipelineSummary } from '../contracts/pipeline-plan';
import { parseSpecOrFail, runPipeline } from './pipeline';

/** Runs the pipeline for a spec document (the input CI passes with `temporal workflow start --input-file`). */
export async function migrationPipeline(spec: PipelineSpecInput): Promise<PipelineSummary> {
  return runPipeline(parseSpecOrFail(spec));
}
