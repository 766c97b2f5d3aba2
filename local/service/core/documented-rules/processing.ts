/**
 * What SageMaker documents about processing jobs that its model cannot express: every input and output path in the
 * container begins with /opt/ml/processing/ (and is required unless the input or output is AppManaged), input
 * names and output names are unique, and only an InProgress job can be stopped.
 */
import { invalid } from '../protocol';
import { fail } from '../request-fields';
import type { RuleCheck } from './rule';

/** The prefix every LocalPath must begin with (https://docs.aws.amazon.com/sagemaker/latest/dg/byoc-input-and-output.html). */
export const PROCESSING_ROOT = '/opt/ml/processing/';

type Item = Record<string, unknown>;

function list(v: unknown): Item[] {
  return Array.isArray(v) ? (v as Item[]) : [];
}

function checkLocalPath(item: Item, inner: string, at: string): void {
  const s3 = item[inner] as Item | undefined;
  if (!s3) return;
  const local = s3.LocalPath;
  const path = `${at}.${inner.charAt(0).toLowerCase()}${inner.slice(1)}.localPath`;
  if (local === undefined || local === null || local === '') {
    if (item.AppManaged === true) return;
    fail(path, local, 'LocalPath is required when AppManaged is False');
  }
  if (typeof local !== 'string') return;
  // A path that climbs out of the processing root with `..` is outside it too.
  const parts = local.split('/');
  if (!local.startsWith(PROCESSING_ROOT) || local.length === PROCESSING_ROOT.length || parts.includes('..'))
    fail(path, local, `LocalPath must be an absolute path that begins with ${PROCESSING_ROOT}`);
}

/** CreateProcessingJob: every S3Input/S3Output LocalPath is an absolute path under /opt/ml/processing/. */
export const processingLocalPaths: RuleCheck = ({ body }) => {
  for (const [i, input] of list(body.ProcessingInputs).entries())
    checkLocalPath(input, 'S3Input', `processingInputs.${i + 1}.member`);
  const outputs = list((body.ProcessingOutputConfig as Item | undefined)?.Outputs);
  for (const [i, output] of outputs.entries())
    checkLocalPath(output, 'S3Output', `processingOutputConfig.outputs.${i + 1}.member`);
};

function firstRepeat(names: unknown[]): string | undefined {
  const seen = new Set<unknown>();
  for (const n of names) {
    if (seen.has(n)) return String(n);
    seen.add(n);
  }
  return undefined;
}

/**
 * CreateProcessingJob: input names are unique among the inputs and output names among the outputs (each names a
 * channel of the job, listed in processingjobconfig.json); two inputs (or two outputs) may not share a LocalPath.
 */
export const processingUniqueNames: RuleCheck = ({ body }) => {
  const inputs = list(body.ProcessingInputs);
  const outputs = list((body.ProcessingOutputConfig as Item | undefined)?.Outputs);
  const inputName = firstRepeat(inputs.map((x) => x.InputName));
  if (inputName !== undefined)
    throw invalid(`ProcessingInputs must have unique InputName values: '${inputName}' repeats.`);
  const outputName = firstRepeat(outputs.map((x) => x.OutputName));
  if (outputName !== undefined)
    throw invalid(`ProcessingOutputConfig.Outputs must have unique OutputName values: '${outputName}' repeats.`);
  const localOf = (x: Item, k: string) =>
    ((x[k] as Item | undefined)?.LocalPath as string | undefined)?.replace(/\/+$/, '');
  const inPath = firstRepeat(inputs.map((x) => localOf(x, 'S3Input')).filter(Boolean));
  if (inPath !== undefined) throw invalid(`ProcessingInputs must have unique LocalPath values: '${inPath}' repeats.`);
  const outPath = firstRepeat(outputs.map((x) => localOf(x, 'S3Output')).filter(Boolean));
  if (outPath !== undefined)
    throw invalid(`ProcessingOutputConfig.Outputs must have unique LocalPath values: '${outPath}' repeats.`);
};

/** StopProcessingJob: only an InProgress job can be stopped (a Stopping one is already on its way). */
export const stopProcessingJobState: RuleCheck = ({ body }, state) => {
  const name = typeof body.ProcessingJobName === 'string' ? body.ProcessingJobName : undefined;
  const status = name && state.processingJobStatus(name);
  if (status && status !== 'InProgress' && status !== 'Stopping')
    throw invalid(`The request was rejected because the processing job is in status ${status}.`);
};
