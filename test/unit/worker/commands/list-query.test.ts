/** `cli list --build-id`: the visibility filter finds runs with and without Worker Versioning. */
import { buildFilter, listQuery } from '../../../../worker/commands/list';

test('a bare build ID matches unversioned runs, and with a deployment the versions it records', () => {
  expect(buildFilter('160b55acd341')).toBe(`(BuildIds = 'unversioned:160b55acd341')`);
  const versioned =
    `(BuildIds = 'unversioned:160b55acd341' OR BuildIds = 'pinned:prod:160b55acd341' OR ` +
    `TemporalUsedWorkerDeploymentVersions = 'prod:160b55acd341')`;
  expect(buildFilter('160b55acd341', 'prod')).toBe(versioned);
  // The Worker Deployment Version as the UI and `temporal worker deployment` show it.
  expect(buildFilter('prod:160b55acd341')).toBe(versioned);
  expect(listQuery({ status: 'running', buildId: 'prod:160b55acd341' })).toBe(
    `WorkflowType IN ('migrationPipeline', 'retrainPipeline') AND ExecutionStatus = 'Running' AND ${versioned}`,
  );
});

test('a build ID that would break out of the query is refused, naming the option', () => {
  expect(() => buildFilter("x' OR 'a' = 'a")).toThrow(/--build-id must not contain quotes/);
  expect(() => buildFilter(':abc')).toThrow(/--build-id must be <build ID> or <deployment>:<build ID>/);
});
