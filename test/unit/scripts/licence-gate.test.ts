// The licence gate of `npm test`: what it refuses among production dependencies, what it lets through, and that
// this project's own production tree passes (it did not while local mode's AGPL IAM simulator was a dependency).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { productionLicenceViolations } from '../../../scripts/licences/gate';
import { judgeLicence } from '../../../scripts/licences/policy';

describe('licence policy', () => {
  it.each([
    ['AGPL-3.0-or-later', ['AGPL-3.0-or-later']],
    ['GPL-2.0', ['GPL-2.0']],
    ['LGPL-3.0-only', ['LGPL-3.0-only']],
    ['SSPL-1.0', ['SSPL-1.0']],
    ['MIT AND LGPL-2.1', ['LGPL-2.1']],
    ['(GPL-2.0 OR AGPL-3.0)', ['GPL-2.0', 'AGPL-3.0']],
    ['GPL-2.0 WITH Classpath-exception-2.0', ['GPL-2.0']],
    ['GPL-3.0*', ['GPL-3.0']],
  ])('refuses %s', (licence, named) => {
    expect(judgeLicence(licence)).toEqual({ ok: false, reason: 'copyleft', licences: named });
  });

  it('refuses a package that lists a copyleft licence among several', () => {
    expect(judgeLicence(['MIT', 'GPL-3.0'])).toEqual({ ok: false, reason: 'copyleft', licences: ['GPL-3.0'] });
  });

  it.each(['MIT', 'Apache-2.0 AND MIT', '(MIT OR GPL-3.0-or-later)', 'BSD-3-Clause', 'Public Domain', 'MIT*'])(
    'accepts %s',
    (licence) => {
      expect(judgeLicence(licence)).toEqual({ ok: true });
    },
  );

  it.each([undefined, 'UNKNOWN', 'UNLICENSED', 'Custom: LICENSE.txt'])(
    'refuses a licence it cannot identify (%s)',
    (l) => {
      expect(judgeLicence(l)).toMatchObject({ ok: false, reason: 'unknown' });
    },
  );
});

describe('licence gate over an installed tree', () => {
  let dir: string;
  const write = (rel: string, json: object) => {
    fs.mkdirSync(path.join(dir, rel), { recursive: true });
    fs.writeFileSync(path.join(dir, rel, 'package.json'), JSON.stringify(json));
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'licence-gate-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names a copyleft package a production dependency pulls in, and ignores development-only ones', async () => {
    write('.', {
      name: 'app',
      version: '1.0.0',
      dependencies: { 'app-lib': '1.0.0' },
      devDependencies: { 'dev-simulator': '1.0.0' },
    });
    write('node_modules/app-lib', {
      name: 'app-lib',
      version: '1.0.0',
      license: 'MIT',
      dependencies: { 'gpl-inner': '2.1.0' },
    });
    write('node_modules/gpl-inner', { name: 'gpl-inner', version: '2.1.0', license: 'GPL-3.0-only' });
    write('node_modules/dev-simulator', { name: 'dev-simulator', version: '1.0.0', license: 'AGPL-3.0-or-later' });

    const { violations } = await productionLicenceViolations(dir);

    expect(violations.map((v) => [v.pkg, v.reason, v.licences])).toEqual([
      ['gpl-inner@2.1.0', 'copyleft', ['GPL-3.0-only']],
    ]);
  });

  it('passes a tree whose only copyleft package is a development dependency', async () => {
    write('.', { name: 'app', version: '1.0.0', dependencies: {}, devDependencies: { 'dev-simulator': '1.0.0' } });
    write('node_modules/dev-simulator', { name: 'dev-simulator', version: '1.0.0', license: 'AGPL-3.0-or-later' });

    expect((await productionLicenceViolations(dir)).violations).toEqual([]);
  });
});

describe("this project's production dependencies", () => {
  it('include no copyleft package (the AGPL IAM simulator is local mode only)', async () => {
    const root = path.resolve(__dirname, '..', '..', '..');
    const { checked, violations } = await productionLicenceViolations(root);

    expect(violations).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });
});
