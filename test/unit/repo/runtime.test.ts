// Everything runs on the Node pinned in .nvmrc (scripts/bootstrap-node.sh installs it; every npm script and
// scripts/test.sh put it first on PATH), and package.json declares the same major for engines and @types/node.
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const pinned = fs.readFileSync(path.join(ROOT, '.nvmrc'), 'utf8').trim();
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};

describe('Node runtime', () => {
  it('is the version pinned in .nvmrc', () => {
    expect(process.version).toBe(`v${pinned}`);
  });

  it('is the major package.json declares in engines and in @types/node', () => {
    const major = pinned.split('.')[0];
    expect(pkg.engines.node).toBe(`>=${major} <${Number(major) + 1}`);
    expect(pkg.devDependencies['@types/node']?.split('.')[0]).toBe(major);
  });
});
