import { CancelledFailure } from '@temporalio/common';
import { createActivities } from '../../../activities';
import { heartbeatIfActivity, pauseWithHeartbeat, pollUntil } from '../../../activities/polling';
import { runPool } from '../../../activities/pool';
import { activityEnv, testDeps } from './helpers';

describe('runPool', () => {
  it('bounds concurrency and runs every item once', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await runPool([...Array(20).keys()], 4, async (item) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      seen.push(item);
      inFlight -= 1;
    });
    expect(peak).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
  });

  it('stops starting items after the first failure and rethrows it once in-flight work settles', async () => {
    const started: number[] = [];
    let settled = 0;
    const run = runPool([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      await new Promise((r) => setTimeout(r, item === 0 ? 1 : 5));
      settled += 1;
      if (item === 0) throw new Error('boom');
    });
    await expect(run).rejects.toThrow('boom');
    expect(started).toEqual([0, 1]);
    expect(settled).toBe(2);
  });

  it('stops when told to', async () => {
    const done: number[] = [];
    await runPool(
      [0, 1, 2, 3],
      1,
      async (i) => void done.push(i),
      () => done.length >= 2,
    );
    expect(done).toEqual([0, 1]);
  });
});

describe('polling helpers', () => {
  it('pauses in heartbeating slices of at most 10 s', async () => {
    const sleeps: number[] = [];
    const env = activityEnv();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    await env.run(() =>
      pauseWithHeartbeat(testDeps({ sleep: async (ms) => void sleeps.push(ms) }), 25_000, { phase: 'x' }),
    );
    expect(sleeps).toEqual([10_000, 10_000, 5_000]);
    expect(beats).toHaveLength(4);
  });

  it('polls until the step reports done', async () => {
    let calls = 0;
    const value = await activityEnv().run(() =>
      pollUntil(testDeps(), 1, async () =>
        ++calls < 3 ? { done: false, details: calls } : { done: true, value: 'ok' },
      ),
    );
    expect([value, calls]).toEqual(['ok', 3]);
  });

  it('uses the context sleep (cancellable) when no sleep is injected', async () => {
    const env = activityEnv();
    const pausing = env.run(() => pauseWithHeartbeat({ clients: testDeps().clients }, 60_000, null));
    setTimeout(() => env.cancel(), 5);
    await expect(pausing).rejects.toBeInstanceOf(CancelledFailure);
  });

  it('heartbeats only inside an activity', async () => {
    expect(() => heartbeatIfActivity('outside')).not.toThrow();
    const env = activityEnv();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    await env.run(async () => heartbeatIfActivity('inside'));
    expect(beats).toEqual(['inside']);
  });
});

describe('createActivities', () => {
  it('registers every step 1-4 activity under the name workflows call', () => {
    const names = Object.keys(createActivities(testDeps()));
    expect(names).toEqual(
      expect.arrayContaining([
        'hashBuildContext',
        'findImageByTag',
        'ensureEcrRepository',
        'uploadBuildContext',
        'ensureCodeBuildProject',
        'startImageBuild',
        'waitForImageBuild',
        'stopImageBuild',
        'allowSageMakerPull',
        'verifyImageDigest',
        'readScanFindings',
        'tagImageRelease',
        'syncDataset',
        'createTrainingJob',
        'waitForTrainingJob',
        'stopTrainingJob',
        'readJobLogTail',
      ]),
    );
  });
});
