/**
 * Every relative link in README.md, CONTRIBUTING.md and docs/ leads somewhere: to a file or folder of the repository,
 * and, for a `#anchor` into a Markdown page, to one of its headings. A reader who follows a link from the front door
 * never lands on a 404.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brokenLinks, headingAnchors, linkTargets } from './markdown-links';

const REPO = path.resolve(__dirname, '../../..');

/** Pages linked before they exist (while parallel changes are merged); empty on main. */
const PENDING = new Set<string>([]);

function markdownUnder(dir: string): string[] {
  const full = path.join(REPO, dir);
  if (!fs.existsSync(full)) return [];
  return fs.readdirSync(full, { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return markdownUnder(rel);
    return entry.name.endsWith('.md') ? [rel] : [];
  });
}

const PAGES = ['README.md', 'CONTRIBUTING.md', ...markdownUnder('docs')];

test('every relative link in README.md, CONTRIBUTING.md and docs/ resolves', () => {
  expect(PAGES.filter((p) => !fs.existsSync(path.join(REPO, p)))).toEqual([]);
  expect(PAGES.flatMap((page) => brokenLinks(REPO, page, PENDING))).toEqual([]);
});

test('the README links every page of docs/', () => {
  const readme = linkTargets(fs.readFileSync(path.join(REPO, 'README.md'), 'utf8')).map((t) => t.split('#')[0]);
  const unlinked = markdownUnder('docs').filter(
    (page) => !page.startsWith('docs/adr/') && !readme.includes(page) && !PENDING.has(page),
  );
  expect(unlinked).toEqual([]);
});

describe('the link check itself', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'links-'));
  fs.mkdirSync(path.join(tmp, 'docs'));
  fs.writeFileSync(path.join(tmp, 'docs/a.md'), '# A page\n\n## Step 2: run it (`npm test`)\n\n## Notes\n\n## Notes\n');
  fs.writeFileSync(
    path.join(tmp, 'README.md'),
    [
      '# Readme',
      '[fine](docs/a.md) [fine too](docs/a.md#step-2-run-it-npm-test) [second notes](docs/a.md#notes-1)',
      '[here](#readme) [web](https://example.com/x.md) [folder](docs/)',
      '[gone](docs/missing.md) [bad anchor](docs/a.md#step-3) [pending](docs/later.md) [out](../x.md)',
      '`[in code](nowhere.md)`',
      '```',
      '[in a block](nowhere.md)',
      '```',
      '[ref]: docs/none.md',
    ].join('\n'),
  );
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('names each link that leads nowhere, and only those', () => {
    expect(brokenLinks(tmp, 'README.md', new Set(['docs/later.md'])).map((b) => `${b.target}: ${b.problem}`)).toEqual([
      'docs/missing.md: no file docs/missing.md',
      'docs/a.md#step-3: no heading #step-3 in docs/a.md',
      '../x.md: points outside the repository',
      'docs/none.md: no file docs/none.md',
    ]);
  });

  it("makes GitHub's anchors from headings", () => {
    expect([...headingAnchors('# Coverage, counted (`a/b-c.ts`)\n## IAM: our policies, enforced\n## x\n## x')]).toEqual(
      ['coverage-counted-ab-cts', 'iam-our-policies-enforced', 'x', 'x-1'],
    );
  });
});
