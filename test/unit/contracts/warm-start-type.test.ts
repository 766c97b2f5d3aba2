/** The retraining plan's warm-start type: IdenticalDataAndAlgorithm only with the parent's image and unchanged data. */
import { warmStartType } from '../../../contracts/pipeline-plan';

const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm@sha256:${'a'.repeat(64)}`;
const OTHER = `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm@sha256:${'b'.repeat(64)}`;
const parent = { tuningJobName: 'prev', trainingImage: IMAGE, creationTime: '2026-05-01T03:00:00.000Z' };
const before = '2026-04-30T00:00:00.000Z';
const after = '2026-05-02T00:00:00.000Z';

test.each([
  ['same image, data older than the parent', IMAGE, { copied: 0, lastModified: before }, 'IdenticalDataAndAlgorithm'],
  ['a rebuilt image', OTHER, { copied: 0, lastModified: before }, 'TransferLearning'],
  ['data written after the parent was created', IMAGE, { copied: 0, lastModified: after }, 'TransferLearning'],
  ['new objects synced now', IMAGE, { copied: 3, lastModified: after }, 'TransferLearning'],
] as const)('%s: %s', (_label, imageUri, data, type) => {
  expect(warmStartType(parent, { imageUri, imageReused: imageUri === IMAGE, data }).type).toBe(type);
});

test("without the parent's image and time (an older result), a rebuild or any copied object means TransferLearning", () => {
  const bare = { tuningJobName: 'prev' };
  expect(warmStartType(bare, { imageUri: IMAGE, imageReused: true, data: { copied: 0 } }).type).toBe(
    'IdenticalDataAndAlgorithm',
  );
  expect(warmStartType(bare, { imageUri: IMAGE, imageReused: false, data: { copied: 0 } }).type).toBe(
    'TransferLearning',
  );
  expect(warmStartType(bare, { imageUri: IMAGE, imageReused: true, data: { copied: 1 } }).reason).toBe(
    'the training data changed since prev ran',
  );
});

test('channels prepareData wrote this run (a new prefix each run) are never the parent’s input data', () => {
  const run = { imageUri: IMAGE, imageReused: true, data: { copied: 0, lastModified: before }, preparedThisRun: true };
  expect(warmStartType(parent, run)).toEqual({
    type: 'TransferLearning',
    reason: 'prepareData wrote new training channels since prev',
  });
});
