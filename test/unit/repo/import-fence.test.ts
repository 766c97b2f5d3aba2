// The import fence in eslint.config.mjs: the code we ship (workflows/, activities/, worker/, contracts/) may import
// neither local mode nor local mode's AGPL-3.0 IAM simulator; local mode itself may.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const PROBE = [
  "import { REPO_ROOT } from '../local/stack/config';",
  "import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';",
  "import { validateIdentityPolicy } from '@cloud-copilot/iam-policy';",
  'export const probe = [REPO_ROOT, runUnsafeSimulation, validateIdentityPolicy];',
  '',
].join('\n');
const DIRS = ['workflows', 'activities', 'worker', 'contracts', 'local/service/iam'];

// ESLint loads eslint.config.mjs with a dynamic import, which jest's module sandbox refuses: lint in a child.
// Type-aware rules need the file on disk; the fence does not, so they are switched off for the probe.
const LINT_IN_CHILD = `
const { ESLint } = require('eslint');
const [cwd, code, ...dirs] = process.argv.slice(1);
const eslint = new ESLint({
  cwd,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
});
Promise.all(dirs.map((d) => eslint.lintText(code, { filePath: require('path').join(cwd, d, 'fence-probe.ts') })))
  .then((rs) => console.log(JSON.stringify(rs.map(([r]) => r.messages.map((m) => m.message)))));
`;

let messagesByDir: Record<string, string[]>;
beforeAll(() => {
  const out = execFileSync(process.execPath, ['-e', LINT_IN_CHILD, ROOT, PROBE, ...DIRS], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const lists = JSON.parse(out) as string[][];
  messagesByDir = Object.fromEntries(DIRS.map((d, i) => [d, lists[i] ?? []]));
});

describe('import fence', () => {
  it.each(['workflows', 'activities', 'worker', 'contracts'])(
    '%s/ may not import local mode or the AGPL simulator',
    (dir) => {
      const messages = messagesByDir[dir];

      expect(messages).toHaveLength(3);
      expect(messages?.[0]).toMatch(/'\.\.\/local\/stack\/config'.*local mode/);
      expect(messages?.[1]).toMatch(/'@cloud-copilot\/iam-simulate'.*AGPL-3\.0/);
      expect(messages?.[2]).toMatch(/'@cloud-copilot\/iam-policy'.*AGPL-3\.0/);
    },
  );

  it('local mode may use the simulator', () => {
    expect(messagesByDir['local/service/iam']).toEqual([]);
  });
});
