/**
 * The licence gate: every production dependency (npm `dependencies`, transitively, as installed in node_modules)
 * read by license-checker-rseidelsohn, offline, and judged by the policy in ./policy.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { judgeLicence } from './policy';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const CHECKER = path.join(
  REPO_ROOT,
  'node_modules',
  'license-checker-rseidelsohn',
  'bin',
  'license-checker-rseidelsohn.js',
);

/** A production dependency the policy refuses. */
export interface LicenceViolation {
  /** `name@version`, as the checker names it. */
  pkg: string;
  reason: 'copyleft' | 'unknown';
  licences: string[];
  /** Where it is installed, so a reader can find who pulls it in (`npm explain <name>`). */
  path: string;
}

interface CheckerEntry {
  licenses?: string | string[];
  path?: string;
}

/** Lists the production dependencies installed under `projectDir` and returns those the policy refuses. */
export async function productionLicenceViolations(
  projectDir: string,
): Promise<{ checked: number; violations: LicenceViolation[] }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [CHECKER, '--start', projectDir, '--production', '--json'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const entries = JSON.parse(stdout) as Record<string, CheckerEntry>;
  // The project itself is listed too; its own licence is not a dependency's.
  const deps = Object.entries(entries).filter(([, e]) => path.resolve(e.path ?? '') !== path.resolve(projectDir));
  const violations: LicenceViolation[] = [];
  for (const [pkg, entry] of deps) {
    const verdict = judgeLicence(entry.licenses);
    if (!verdict.ok) {
      violations.push({ pkg, reason: verdict.reason, licences: verdict.licences, path: entry.path ?? '' });
    }
  }
  return { checked: deps.length, violations };
}

/** One line per violation, for the gate's output. */
export function formatViolation(v: LicenceViolation, projectDir: string): string {
  const what = v.reason === 'copyleft' ? 'copyleft licence' : 'no identifiable licence';
  const where = v.path ? ` (${path.relative(projectDir, v.path)})` : '';
  return `${v.pkg}: ${what} ${v.licences.join(', ')}${where}`;
}
