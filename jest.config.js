/** Jest projects: one per test layer, so `npm test` can report each layer and run them in order. */
const tsJest = ['ts-jest', { diagnostics: false }];
const project = (name, extra = {}) => ({
  displayName: name,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': tsJest },
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  setupFilesAfterEnv: ['<rootDir>/test/setup.ts'],
  ...extra,
});
module.exports = {
  projects: [project('unit'), project('conformance'), project('workflows'), project('replay'), project('e2e')],
  // Workflow tests start a server and bundle workflows; e2e tests run real training jobs.
  testTimeout: 600_000,
};
