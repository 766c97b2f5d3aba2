/** `npm test`'s closing line (scripts/summarize-tests.js): counts from the reports, whatever else lies beside them. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SCRIPT = path.resolve(__dirname, '../../../scripts/summarize-tests.js');

function summarize(dir: string, ...failedStages: string[]): string {
  return execFileSync(process.execPath, [SCRIPT, dir, ...failedStages], { encoding: 'utf8' }).trim();
}

test('counts jest and pytest reports and ignores the artefacts kept beside them', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-summary-'));
  fs.writeFileSync(
    path.join(dir, 'jest-unit.json'),
    JSON.stringify({ numPassedTests: 7, numFailedTests: 1, numPendingTests: 2, numTodoTests: 0 }),
  );
  fs.writeFileSync(
    path.join(dir, 'pytest.xml'),
    '<testsuites><testsuite name="pytest" tests="5" failures="1" errors="0" skipped="1"></testsuite></testsuites>',
  );
  // The e2e run keeps the run report's screenshot in a folder here; the summary once crashed on it (EISDIR).
  fs.mkdirSync(path.join(dir, 'run-report'));
  fs.writeFileSync(path.join(dir, 'run-report', 'report.png'), 'not a report');
  expect(summarize(dir)).toBe('10 passed, 2 failed, 3 skipped');
});

test('a stage that failed without reporting tests still counts as a failure', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-summary-'));
  expect(summarize(dir, 'lint (eslint)')).toBe('failed stages: lint (eslint)\n0 passed, 1 failed, 0 skipped');
});
