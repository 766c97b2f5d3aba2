/**
 * The kept histories: test/histories/manifest.json lists every released version of the workflow code (its build ID,
 * where its files are, which workflow ID each file recorded). Read by the replay tests and extended, never
 * rewritten, by `npm run histories:record`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { z } from 'zod';
import { historyWorkflowType, type NamedHistory } from '../worker/replay';

/** Where the kept histories live. */
export const HISTORIES_DIR = join(__dirname, '../test/histories');
/** The manifest of versions. */
export const MANIFEST_PATH = join(HISTORIES_DIR, 'manifest.json');

/** One released version's histories. */
export const HistoryVersion = z.strictObject({
  /** v1, v2, ...: the order versions were released in. */
  version: z.string().regex(/^v\d+$/),
  /** The workflow source hash the histories were recorded with (the worker's build ID). */
  buildId: z.string().regex(/^[0-9a-f]{12}$/),
  /** Folder of the files, relative to test/histories (`.` for v1, the build ID after it). */
  dir: z.string(),
  recordedAt: z.string(),
  /** The commit the recording ran on (with `+dirty` when the tree had uncommitted changes). */
  recordedFrom: z.string(),
  /** What changed in this version, and what the recorded runs did. */
  notes: z.string(),
  /** File name -> the workflow ID of the recorded run (the replayed code sees it). */
  histories: z.record(z.string(), z.string()),
  /** Set once no run on this version can still be open and the code that replays it was removed (never deleted). */
  retired: z.strictObject({ at: z.string(), why: z.string() }).optional(),
});
export type HistoryVersion = z.infer<typeof HistoryVersion>;

/** The manifest file. */
export const HistoryManifest = z.strictObject({ about: z.string(), versions: z.array(HistoryVersion).min(1) });
export type HistoryManifest = z.infer<typeof HistoryManifest>;

/**
 * Each version from v4 on carries its own entry in its folder (`<build ID>/version.json`), written with its files in
 * one rename, so recording a version adds files and never edits one that exists (manifest.json lists v1-v3).
 */
export const VERSION_FILE = 'version.json';

/**
 * Where a retired version's files go: `retired/<build ID>/`, moved there unchanged (a `git mv` of its files or folder,
 * its own `version.json` with it) together with `retired/<build ID>/retired.json` ({"at", "why"}). Retiring a version
 * thus moves and adds files and never edits one; the replay test skips retired versions, the record stays on disk.
 */
export const RETIRED_DIR = 'retired';
/** The note that retires a version, in its folder under retired/. */
export const RETIRED_FILE = 'retired.json';

const RetiredNote = z.strictObject({ at: z.string(), why: z.string() });

/** Reads and validates the manifest, with the versions whose entry lives in their own folder, oldest first. */
export function readManifest(path = MANIFEST_PATH, root = HISTORIES_DIR): HistoryManifest {
  const manifest = z.parse(HistoryManifest, JSON.parse(readFileSync(path, 'utf8')));
  const retiredRoot = join(root, RETIRED_DIR);
  const versionFiles = (dir: string) =>
    existsSync(dir)
      ? readdirSync(dir)
          .map((name) => join(dir, name, VERSION_FILE))
          .filter((f) => existsSync(f))
          .map((f) => z.parse(HistoryVersion, JSON.parse(readFileSync(f, 'utf8'))))
      : [];
  const own = [...versionFiles(root), ...versionFiles(retiredRoot)];
  const versions = [...manifest.versions, ...own]
    .map((v) => retiredAs(v, retiredRoot))
    .sort((a, b) => Number(a.version.slice(1)) - Number(b.version.slice(1)));
  return { ...manifest, versions };
}

/** A version whose folder was moved under retired/ is read from there, marked retired with its note. */
function retiredAs(v: HistoryVersion, retiredRoot: string): HistoryVersion {
  const note = join(retiredRoot, v.buildId, RETIRED_FILE);
  if (!existsSync(note)) return v;
  const retired = z.parse(RetiredNote, JSON.parse(readFileSync(note, 'utf8')));
  return { ...v, dir: `${RETIRED_DIR}/${v.buildId}`, retired };
}

/** A version's histories, named `<version>/<file>`. */
export function loadVersionHistories(v: HistoryVersion, root = HISTORIES_DIR): NamedHistory[] {
  return Object.entries(v.histories).map(([file, workflowId]) => ({
    name: `${v.version}/${file}`,
    workflowId,
    history: historyFromJSON(JSON.parse(readFileSync(join(root, v.dir, file), 'utf8'))),
  }));
}

function jsonFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return jsonFilesUnder(full);
    return name.endsWith('.json') ? [full] : [];
  });
}

/** History files under test/histories that no version lists (a recording left half-done, or a file added by hand). */
export function unlistedHistoryFiles(manifest: HistoryManifest, root = HISTORIES_DIR): string[] {
  const listed = new Set(manifest.versions.flatMap((v) => Object.keys(v.histories).map((f) => join(root, v.dir, f))));
  return jsonFilesUnder(root)
    .filter(
      (f) =>
        f !== join(root, 'manifest.json') &&
        basename(f) !== VERSION_FILE &&
        basename(f) !== RETIRED_FILE &&
        !listed.has(f),
    )
    .map((f) => relative(root, f).split(sep).join('/'));
}

/** Listed files that are not on disk. */
export function missingHistoryFiles(manifest: HistoryManifest, root = HISTORIES_DIR): string[] {
  return manifest.versions.flatMap((v) =>
    Object.keys(v.histories)
      .filter((f) => !existsSync(join(root, v.dir, f)))
      .map((f) => `${v.version}/${f}`),
  );
}

/** The workflow types a set of histories covers. */
export function historyWorkflowTypes(histories: NamedHistory[]): string[] {
  return [...new Set(histories.map((h) => historyWorkflowType(h.history)))].sort();
}
