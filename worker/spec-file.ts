/**
 * Reading a spec from a file. Code paths in a spec (`training.code.sourceDir`, `deployment.code.sourceDir`) and a local
 * evaluation file (`evaluation.input.localPath`) are relative to the spec file; only whoever reads the file knows
 * where that is, so every tool that loads a spec file (the CLI, the demo, the tests) makes them absolute here before a
 * workflow sees them. A spec started any other way
 * (`temporal workflow start --input-file`) reaches the worker with its relative paths, and the worker resolves them
 * against PIPELINE_SPEC_DIR (default: its working directory); `npm run cli -- resolve` prints a spec ready for that.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The spec sections that may carry a code directory. */
const CODE_SECTIONS = ['training', 'deployment'] as const;

/** A copy of a raw spec whose relative local code paths are made absolute against `baseDir`; the rest as it was. */
export function resolveCodePaths(raw: unknown, baseDir: string): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const out = { ...(raw as Record<string, unknown>) };
  for (const section of CODE_SECTIONS) {
    const s = out[section];
    if (typeof s !== 'object' || s === null) continue;
    const code = (s as Record<string, unknown>).code;
    if (typeof code !== 'object' || code === null) continue;
    const dir = (code as Record<string, unknown>).sourceDir;
    if (typeof dir !== 'string' || dir === '' || dir.startsWith('s3://') || path.isAbsolute(dir)) continue;
    out[section] = { ...s, code: { ...code, sourceDir: path.resolve(baseDir, dir) } };
  }
  // The evaluation's scoring records, when they are a local file, are relative to the spec file too.
  const evaluation = out.evaluation;
  if (typeof evaluation === 'object' && evaluation !== null) {
    const input = (evaluation as Record<string, unknown>).input;
    const file = typeof input === 'object' && input !== null ? (input as Record<string, unknown>).localPath : undefined;
    if (typeof file === 'string' && file !== '' && !path.isAbsolute(file))
      out.evaluation = { ...evaluation, input: { ...(input as object), localPath: path.resolve(baseDir, file) } };
  }
  return out;
}

/** A spec file read and parsed, or why it could not be. */
export type SpecFileResult = { ok: true; raw: unknown } | { ok: false; message: string };

/** Reads a spec file as JSON with its code paths resolved against the file's folder. */
export function readSpecFile(file: string): SpecFileResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, message: `${file}: cannot read: ${(e as Error).message}` };
  }
  try {
    return { ok: true, raw: resolveCodePaths(JSON.parse(text), path.dirname(path.resolve(file))) };
  } catch (e) {
    return { ok: false, message: `${file}: not valid JSON: ${(e as Error).message}` };
  }
}
