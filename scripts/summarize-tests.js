// Prints the closing line of `npm test`: counts from jest's JSON reports and pytest's JUnit XML.
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const [dir, ...failedStages] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
// Only the reports: other artefacts live beside them (the run report's screenshot folder, for one).
for (const entry of readdirSync(dir, { withFileTypes: true })) {
  const file = entry.name;
  if (!entry.isFile() || !/\.(json|xml)$/.test(file)) continue;
  const text = readFileSync(join(dir, file), 'utf8');
  if (file.endsWith('.json')) {
    const r = JSON.parse(text);
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + r.numTodoTests;
  } else if (file.endsWith('.xml')) {
    const attr = (name) =>
      [...text.matchAll(new RegExp(`<testsuite [^>]*\\b${name}="(\\d+)"`, 'g'))].reduce((n, m) => n + Number(m[1]), 0);
    const total = attr('tests');
    const bad = attr('failures') + attr('errors');
    const skip = attr('skipped');
    passed += total - bad - skip;
    failed += bad;
    skipped += skip;
  }
}
if (failedStages.length) console.log(`failed stages: ${failedStages.join(', ')}`);
// A stage that failed without reporting tests (lint, type check, a crash) still counts as a failure.
const extra = failedStages.length && failed === 0 ? failedStages.length : 0;
console.log(`${passed} passed, ${failed + extra} failed, ${skipped} skipped`);
