/**
 * `npm run cli -- rollout-check`: a build that adds (or drops) workflow types must not be ramped beside the current
 * one, because the ramp can route a new-type child of a run on the new build to the old build's workers, which cannot
 * run it. The bundle's header names the types it registers; the check compares two bundles.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runOperatorCli } from '../../../../worker/cli';
import { bundleWorkflows, registeredWorkflowTypes } from '../../../../worker/workflow-bundle';
import { bundleHeader, bundleWorkflowTypes } from '../../../../worker/workflow-version';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-check-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A bundle file with the given header (the code after it does not matter to the check). */
function bundle(name: string, hash: string, types?: string[]): string {
  const file = path.join(dir, `${name}.js`);
  fs.writeFileSync(file, `${bundleHeader(hash, types)}/* workflow code */\n`);
  return file;
}

async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await runOperatorCli(argv, {}, { out: (t) => out.push(t), err: (t) => out.push(t) });
  return { code, out: out.join('\n') };
}

const TODAY = registeredWorkflowTypes();
// v3's workers registered neither prepareData nor evaluateModel; v4 added both.
const V3 = TODAY.filter((t) => t !== 'prepareData' && t !== 'evaluateModel');

test('npm run build names every workflow type the workers register in the bundle header', async () => {
  expect(TODAY).toEqual(expect.arrayContaining(['migrationPipeline', 'prepareData', 'evaluateModel']));
  const file = path.join(dir, 'built.js');
  fs.writeFileSync(file, await bundleWorkflows());
  expect(bundleWorkflowTypes(file)).toEqual(TODAY);
}, 120_000);

test('a build that adds workflow types (v3 -> v4) must not be ramped, and says how to promote it instead', async () => {
  const r = await cli('rollout-check', '--from', bundle('v3', 'aaa', V3), '--to', bundle('v4', 'bbb', TODAY));
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/^rollout-check aaa -> bbb: do not ramp\./);
  expect(r.out).toMatch(/adds workflow type\(s\) evaluateModel, prepareData: under a ramp a run on bbb can start one/);
  expect(r.out).toContain('temporal worker deployment set-current-version --build-id bbb');
  expect(r.out).toContain(`--query "WorkflowType IN ('evaluateModel', 'prepareData')"`);
});

test('a build with the same workflow types may be ramped', async () => {
  const r = await cli('rollout-check', '--from', bundle('old', 'ccc', TODAY), '--to', bundle('new', 'ddd', TODAY));
  expect(r).toEqual({
    code: 0,
    out: `rollout-check ccc -> ddd: both builds register the same workflow types (${TODAY.join(', ')}); a ramp is safe.`,
  });
});

test('a build that drops a workflow type, or a bundle that does not name its types, is not ramped either', async () => {
  const dropped = await cli('rollout-check', '--from', bundle('a', 'eee', TODAY), '--to', bundle('b', 'fff', V3));
  expect(dropped.code).toBe(1);
  expect(dropped.out).toMatch(
    /drops workflow type\(s\) evaluateModel, prepareData: an open run of one would have no worker/,
  );
  const unnamed = await cli('rollout-check', '--from', bundle('legacy', '0a0'), '--to', bundle('c', '0b0', TODAY));
  expect(unnamed.code).toBe(1);
  expect(unnamed.out).toMatch(/cannot tell which workflow types .*legacy\.js \(build 0a0\) registers/);
  expect(unnamed.out).toMatch(/Do not ramp/);
});
