// The worker's liveness endpoint (worker/health-server.ts): what an orchestrator's probe sees in each worker state.
import type { State } from '@temporalio/worker';
import { startHealthServer, type HealthServer } from '../../../worker/health-server';

let server: HealthServer;
let state: State = 'RUNNING';
beforeAll(async () => {
  server = await startHealthServer({ host: '127.0.0.1', port: 0 }, () => ({
    state,
    inFlightActivities: 3,
    buildId: 'abc123',
  }));
});
afterAll(() => server.close());

const get = (p: string) => fetch(`http://127.0.0.1:${server.port}${p}`);

it.each<State>(['INITIALIZED', 'RUNNING', 'DRAINING', 'STOPPING'])('answers 200 while the worker is %s', async (s) => {
  state = s;
  const res = await get('/healthz');

  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok', state: s, inFlightActivities: 3, buildId: 'abc123' });
});

it.each<State>(['FAILED', 'STOPPED'])('answers 503 once the worker is %s', async (s) => {
  state = s;
  const res = await get('/healthz');

  expect(res.status).toBe(503);
  expect(await res.json()).toMatchObject({ status: 'down', state: s });
});

it('answers 404 elsewhere', async () => {
  expect((await get('/')).status).toBe(404);
});
