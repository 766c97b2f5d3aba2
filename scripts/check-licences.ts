/**
 * `npm test`'s licence gate: fails when a production dependency is AGPL, GPL, LGPL or SSPL (or has no licence the
 * checker can identify). Development-only packages (local mode's IAM simulator, AGPL-3.0) are not shipped and not
 * checked. Usage: `tsx scripts/check-licences.ts [projectDir]`.
 */
import path from 'node:path';
import { formatViolation, productionLicenceViolations } from './licences/gate';

async function main(): Promise<void> {
  const projectDir = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
  const { checked, violations } = await productionLicenceViolations(projectDir);
  if (!violations.length) {
    console.log(`licences: ${checked} production packages, none copyleft`);
    return;
  }
  console.error(`licences: ${violations.length} of ${checked} production packages are refused for what we ship:`);
  for (const v of violations) console.error(`  ${formatViolation(v, projectDir)}`);
  console.error('Move a package only local mode or tests use to devDependencies, or replace it.');
  process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`licences: the check could not run: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
});
