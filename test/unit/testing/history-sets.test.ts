/**
 * Retiring a kept history version moves its files under test/histories/retired/<build ID>/ with a retired.json note,
 * and never edits a file: the manifest reader then finds the files there and marks the version retired, which the
 * replay test skips.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HISTORIES_DIR,
  loadVersionHistories,
  MANIFEST_PATH,
  missingHistoryFiles,
  readManifest,
  unlistedHistoryFiles,
} from '../../../testing/history-sets';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'history-sets-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the kept histories of v3 (listed in manifest.json) and v4 (its own version.json), as a root of its own. */
function keptV3V4(): { v3: string; v4: string } {
  const raw = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')) as { versions: { version: string; dir: string }[] };
  const v3 = raw.versions.find((v) => v.version === 'v3');
  const v4 = readManifest().versions.find((v) => v.version === 'v4');
  if (!v3 || !v4) throw new Error('v3 and v4 are not kept');
  cpSync(join(HISTORIES_DIR, 'retired', v3.dir), join(root, v3.dir), { recursive: true });
  rmSync(join(root, v3.dir, 'retired.json'), { force: true });
  cpSync(join(HISTORIES_DIR, v4.dir), join(root, v4.buildId), { recursive: true });
  writeFileSync(join(root, 'manifest.json'), JSON.stringify({ about: 'test', versions: [v3] }));
  return { v3: v3.dir, v4: v4.buildId };
}

function retire(buildId: string, note = true): void {
  mkdirSync(join(root, 'retired'), { recursive: true });
  renameSync(join(root, buildId), join(root, 'retired', buildId));
  if (note)
    writeFileSync(join(root, 'retired', buildId, 'retired.json'), JSON.stringify({ at: '2026-12-07', why: 'test' }));
}

it('reads versions moved under retired/ with their note as retired, their files from there, all still listed', () => {
  const { v3, v4 } = keptV3V4();
  const live = readManifest(join(root, 'manifest.json'), root);
  expect(live.versions.map((v) => [v.version, v.retired])).toEqual([
    ['v3', undefined],
    ['v4', undefined],
  ]);

  retire(v3);
  retire(v4);
  const manifest = readManifest(join(root, 'manifest.json'), root);
  expect(manifest.versions).toMatchObject([
    { version: 'v3', dir: `retired/${v3}`, retired: { at: '2026-12-07', why: 'test' } },
    { version: 'v4', dir: `retired/${v4}`, retired: { at: '2026-12-07', why: 'test' } },
  ]);
  expect(missingHistoryFiles(manifest, root)).toEqual([]);
  expect(unlistedHistoryFiles(manifest, root)).toEqual([]);
  for (const v of manifest.versions)
    expect(loadVersionHistories(v, root)).toHaveLength(
      readdirSync(join(root, v.dir)).filter((f) => f.startsWith('record-')).length,
    );
});

it('a folder moved under retired/ without its note is not read from there: its files are missing', () => {
  const { v3 } = keptV3V4();
  retire(v3, false);
  const manifest = readManifest(join(root, 'manifest.json'), root);
  expect(manifest.versions[0]?.version).toBe('v3');
  expect(manifest.versions[0]?.retired).toBeUndefined();
  expect(missingHistoryFiles(manifest, root).length).toBeGreaterThan(0);
});
