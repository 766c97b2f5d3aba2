/**
 * The version of the workflow code: a hash of everything the workflow bundle is built from (workflows/, contracts/
 * and the versions of the packages evaluated in the sandbox). It is the worker's build ID for Worker Versioning, the
 * name of a history set under test/histories/, and what `npm run cli -- list` shows per run. Two checkouts with the
 * same workflow code get the same ID wherever they live; a change to an activity or the CLI does not change it.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const ROOT = join(__dirname, '..');
/** Folders whose TypeScript goes into the workflow bundle (the lint rule keeps workflows/ from importing others). */
export const WORKFLOW_SOURCE_DIRS = ['workflows', 'contracts'] as const;
/** Packages the bundle evaluates inside the sandbox: a new version of one is a new version of the workflow code. */
export const SANDBOX_PACKAGES = ['@temporalio/workflow', '@temporalio/common', 'zod'] as const;
/** Hex characters of the hash used as the build ID. */
const BUILD_ID_LENGTH = 12;
/**
 * First line `npm run build` writes into a prebuilt bundle, so a worker running it reports the hash it was built from.
 */
const BUNDLE_HEADER = /^\/\/ workflow-source-hash: ([0-9a-f]+)\n/;

/** One input of the hash: a file path relative to the repository root (forward slashes) and its content. */
export interface SourceFile {
  path: string;
  content: string | Buffer;
}

/** The hash of a set of source files and sandbox package versions; order-independent. */
export function hashWorkflowSources(files: SourceFile[], packages: Record<string, string>): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    h.update(`${f.path}\0${createHash('sha256').update(f.content).digest('hex')}\n`);
  }
  for (const name of Object.keys(packages).sort()) h.update(`${name}@${packages[name]}\n`);
  return h.digest('hex').slice(0, BUILD_ID_LENGTH);
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return tsFilesUnder(full);
    return e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [full] : [];
  });
}

/** The workflow source hash of a checkout (the working tree as it is, uncommitted edits included). */
export function workflowSourceHash(root: string = ROOT): string {
  const files = WORKFLOW_SOURCE_DIRS.flatMap((d) => tsFilesUnder(join(root, d))).map((full) => ({
    path: relative(root, full).split(sep).join('/'),
    content: readFileSync(full),
  }));
  const packages = Object.fromEntries(
    SANDBOX_PACKAGES.map((p) => {
      const pkg = JSON.parse(readFileSync(join(root, 'node_modules', p, 'package.json'), 'utf8')) as {
        version: string;
      };
      return [p, pkg.version];
    }),
  );
  return hashWorkflowSources(files, packages);
}

/**
 * The header of a prebuilt bundle: the hash of the sources it was built from and, on a second line, the workflow
 * types its workers register (what `cli rollout-check` compares between two builds).
 */
export function bundleHeader(hash: string, workflowTypes?: readonly string[]): string {
  const types = workflowTypes ? `// workflow-types: ${[...workflowTypes].sort().join(',')}\n` : '';
  return `// workflow-source-hash: ${hash}\n${types}`;
}

const TYPES_HEADER = /^\/\/ workflow-types: ([A-Za-z0-9_,]*)$/m;

/** The workflow types a prebuilt bundle registers (its header), or undefined for a bundle built without the line. */
export function bundleWorkflowTypes(bundlePath: string): string[] | undefined {
  const head = readFileSync(bundlePath, 'utf8').slice(0, 2000).split('\n').slice(0, 2).join('\n');
  const m = TYPES_HEADER.exec(head);
  return m ? (m[1] ?? '').split(',').filter(Boolean) : undefined;
}

/** The hash a prebuilt bundle was built from (its header), or undefined for a bundle without one. */
export function bundleSourceHash(bundlePath: string): string | undefined {
  const head = readFileSync(bundlePath, 'utf8').slice(0, 200);
  return BUNDLE_HEADER.exec(head)?.[1];
}
