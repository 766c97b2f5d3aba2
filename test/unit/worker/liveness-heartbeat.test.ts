import type { Context } from '@temporalio/activity';
import { LIVENESS_HEARTBEAT_TIMEOUT_S } from '../../../contracts';
import { livenessHeartbeats } from '../../../worker/liveness-heartbeat';

function run(heartbeatTimeoutMs: number | undefined, workMs: number) {
  const heartbeat = jest.fn();
  const ctx = { info: { heartbeatTimeoutMs }, heartbeat } as unknown as Context;
  const done = livenessHeartbeats(ctx).inbound?.execute?.(
    { args: [], headers: {} },
    () => new Promise((r) => setTimeout(() => r('result'), workMs)),
  );
  return { heartbeat, done };
}

describe('liveness heartbeats', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('heartbeat every quarter of the liveness timeout while a quick activity runs, and stop when it ends', async () => {
    const { heartbeat, done } = run(LIVENESS_HEARTBEAT_TIMEOUT_S * 1000, 60_000);
    await jest.advanceTimersByTimeAsync(60_000);
    await expect(done).resolves.toBe('result');
    expect(heartbeat).toHaveBeenCalledTimes(12);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(heartbeat).toHaveBeenCalledTimes(12);
  });

  it('leave activities that heartbeat their own progress (other timeouts) alone', async () => {
    for (const timeout of [undefined, 120_000, 180_000]) {
      const { heartbeat, done } = run(timeout, 60_000);
      await jest.advanceTimersByTimeAsync(60_000);
      await expect(done).resolves.toBe('result');
      expect(heartbeat).not.toHaveBeenCalled();
    }
  });

  it('stop heartbeating when the activity fails', async () => {
    const heartbeat = jest.fn();
    const ctx = { info: { heartbeatTimeoutMs: LIVENESS_HEARTBEAT_TIMEOUT_S * 1000 }, heartbeat } as unknown as Context;
    const done = livenessHeartbeats(ctx).inbound?.execute?.({ args: [], headers: {} }, () =>
      Promise.reject(new Error('ThrottlingException')),
    );
    await expect(done).rejects.toThrow('ThrottlingException');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(heartbeat).not.toHaveBeenCalled();
  });
});
