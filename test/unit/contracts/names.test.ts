import {
  NAME_LIMITS,
  childWorkflowId,
  codeBuildProjectName,
  resourceName,
  runResourceNames,
  sanitize,
  stableHash,
} from '../../../contracts/names';

const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;

describe('resource naming', () => {
  it('is deterministic for the same workflow ID and step', () => {
    expect(runResourceNames('migrate-2026-11-26')).toEqual(runResourceNames('migrate-2026-11-26'));
  });

  it('keeps a readable prefix and stays within SageMaker limits', () => {
    const names = runResourceNames('migrate-demo');
    expect(names.trainingJob).toMatch(/^migrate-demo-train-[0-9a-f]{8}$/);
    expect(names.tuningJob.length).toBeLessThanOrEqual(32);
    for (const name of Object.values(names)) expect(name).toMatch(SAGEMAKER_NAME);
  });

  it('truncates very long workflow IDs to the limits with allowed characters only', () => {
    const id = `ci/run:${'x'.repeat(500)}/attempt#3 ünïcode`;
    const names = runResourceNames(id);
    expect(names.trainingJob.length).toBeLessThanOrEqual(NAME_LIMITS.trainingJob);
    expect(names.tuningJob.length).toBeLessThanOrEqual(NAME_LIMITS.tuningJob);
    expect(names.model.length).toBeLessThanOrEqual(NAME_LIMITS.model);
    for (const name of Object.values(names)) expect(name).toMatch(SAGEMAKER_NAME);
  });

  it('gives different names to IDs that sanitise or truncate to the same text', () => {
    expect(resourceName('run/1', 'train', 63)).not.toEqual(resourceName('run:1', 'train', 63));
    const long = 'p'.repeat(100);
    expect(resourceName(`${long}-a`, 'tune', 32)).not.toEqual(resourceName(`${long}-b`, 'tune', 32));
  });

  it('gives different steps of one run different names', () => {
    const names = Object.values(runResourceNames('run-1'));
    expect(new Set(names).size).toBe(names.length);
  });

  it('has no collisions across 20,000 similar workflow IDs', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20000; i++) seen.add(resourceName(`nightly-retrain-${i}`, 'tune', 32));
    expect(seen.size).toBe(20000);
  });

  it('falls back to the hash when nothing readable survives sanitising', () => {
    expect(resourceName('///', 'ü', 32)).toMatch(/^[0-9a-f]{8}$/);
  });

  it('sanitises and hashes as documented', () => {
    expect(sanitize('--a__b//c--')).toBe('a-b-c');
    expect(stableHash('')).toBe('cbf29ce484222325');
    expect(codeBuildProjectName('demo')).toBe('demo-image-build');
    expect(childWorkflowId('wf-1', 'trainModel')).toBe('wf-1/trainModel');
  });
});
