/** The worker's version: the workflow source hash (its build ID), how a prebuilt bundle carries it, and the options. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../worker/config';
import { currentVersionNote, workerDeploymentOptions, workerVersion } from '../../../worker/worker-deployment';
import {
  bundleHeader,
  bundleSourceHash,
  hashWorkflowSources,
  workflowSourceHash,
} from '../../../worker/workflow-version';
import { copyWorkflowCode } from '../../../testing/workflow-copy';

const pkgs = { '@temporalio/workflow': '1.24.0', zod: '4.6.7' };

describe('workflow source hash', () => {
  it('depends on paths, contents and sandbox package versions, not on file order', () => {
    const a = { path: 'workflows/a.ts', content: 'export const a = 1;' };
    const b = { path: 'contracts/b.ts', content: 'export const b = 2;' };
    const h = hashWorkflowSources([a, b], pkgs);
    expect(h).toMatch(/^[0-9a-f]{12}$/);
    expect(hashWorkflowSources([b, a], pkgs)).toBe(h);
    expect(hashWorkflowSources([a, { ...b, content: 'export const b = 3;' }], pkgs)).not.toBe(h);
    expect(hashWorkflowSources([a, { ...b, path: 'contracts/c.ts' }], pkgs)).not.toBe(h);
    expect(hashWorkflowSources([a, b], { ...pkgs, zod: '4.6.8' })).not.toBe(h);
  });

  it('is the same for a copy of the checkout elsewhere, and changes with a workflow edit', () => {
    const same = copyWorkflowCode([]);
    const edited = copyWorkflowCode([
      { file: 'workflows/pipeline.ts', from: 'Runs the whole pipeline', to: 'Runs all of the pipeline' },
    ]);
    try {
      expect(workflowSourceHash(same.dir)).toBe(workflowSourceHash());
      expect(workflowSourceHash(edited.dir)).not.toBe(workflowSourceHash());
    } finally {
      same.remove();
      edited.remove();
    }
  });
});

describe('worker version', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the build ID from a prebuilt bundle’s header, and refuses a bundle without one', () => {
    const stamped = join(dir, 'stamped.js');
    writeFileSync(stamped, `${bundleHeader('0123456789ab')}var x = 1;\n`);
    expect(bundleSourceHash(stamped)).toBe('0123456789ab');
    expect(workerVersion({ deployment: {}, workflowBundlePath: stamped })).toEqual({
      deploymentName: 'sagemaker-pipeline',
      buildId: '0123456789ab',
      versioned: false,
      origin: 'prebuilt bundle header',
    });
    const bare = join(dir, 'bare.js');
    writeFileSync(bare, 'var x = 1;\n');
    expect(() => workerVersion({ deployment: {}, workflowBundlePath: bare })).toThrow(ConfigError);
    expect(() => workerVersion({ deployment: {}, workflowBundlePath: bare })).toThrow(
      /WORKFLOW_BUNDLE_PATH: .*bare\.js has no workflow-source-hash header; rebuild it with `npm run build`/,
    );
  });

  it('defaults to the source hash; TEMPORAL_WORKER_DEPLOYMENT turns Worker Versioning on with AUTO_UPGRADE', () => {
    const plain = workerVersion({ deployment: {} });
    expect(plain).toMatchObject({ buildId: workflowSourceHash(), versioned: false, origin: 'workflow source hash' });
    expect(workerDeploymentOptions(plain)).toEqual({
      version: { deploymentName: 'sagemaker-pipeline', buildId: plain.buildId },
      useWorkerVersioning: false,
    });
    const versioned = workerVersion({ deployment: { name: 'prod-pipeline', buildId: 'release-42' } });
    expect(workerDeploymentOptions(versioned)).toEqual({
      version: { deploymentName: 'prod-pipeline', buildId: 'release-42' },
      useWorkerVersioning: true,
      defaultVersioningBehavior: 'AUTO_UPGRADE',
    });
  });

  it('tells the operator how to promote a versioned build that is not current', async () => {
    const v = workerVersion({ deployment: { name: 'prod', buildId: 'b2' } });
    const describer = (current: string | null) => ({
      describeWorkerDeployment: async () => ({
        workerDeploymentInfo: { routingConfig: { currentDeploymentVersion: current ? { buildId: current } : null } },
      }),
    });
    expect(await currentVersionNote(describer('b2'), 'default', v)).toMatch(/is the current version/);
    const note = await currentVersionNote(describer('b1'), 'default', v);
    expect(note).toMatch(/not the current version of deployment prod \(current: b1\)/);
    expect(note).toMatch(/npm run cli -- replay/);
    expect(note).toMatch(/temporal worker deployment set-current-version --deployment-name prod --build-id b2/);
    expect(await currentVersionNote(describer('b1'), 'default', workerVersion({ deployment: {} }))).toBeUndefined();
  });
});
