/**
 * The Node flags every production worker process starts with (deploy/worker.Dockerfile's ENTRYPOINT, `npm run
 * worker`; the capacity bench starts its worker with them too). test/unit/worker/worker-node-flags.test.ts checks
 * that both launchers pass them and that they take effect.
 *
 * Why: Node 24's V8 sizes each semi-space of the young generation at up to 64 MiB (Node 20's: 16 MiB). A worker
 * holding 1,000 waiting pipelines allocates steadily (2,000 cached workflow runs, heartbeats, one poll a minute per
 * job), so its young generation grows to the maximum and stays committed: 2 x 64 MiB of mostly empty new space, plus
 * old-generation growth sized from it, which moved the 1,000-pipeline worker past 1 GiB RSS on the runtime upgrade
 * with no code change (bench/results/worker-capacity.md). 16 MiB is Node 20's size, at which the bench measured the
 * worker at under 10 % of one core: more frequent, smaller scavenges cost little CPU here.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
