/**
 * `npm run infra:synth`: writes the template to infra/cdk.out/ (or --out <dir>) with cdk-nag's AWS Solutions checks
 * applied. An unacknowledged finding fails synthesis (the CDK's policy validation lists it); on success this prints
 * the acknowledged findings' count per rule, each with its reason in <out>/validation-report.json.
 * `--policy-dir <dir>` reads the policy documents from another directory; `--no-checks` skips the checks (local
 * mode's deployment: the template of iam/ is judged by `npm test`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { synthesize } from './app';

const args = process.argv.slice(2);
const option = (name: string) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
const outdir = path.resolve(option('--out') ?? path.join(__dirname, 'cdk.out'));
const policyDir = option('--policy-dir');
const checks = !args.includes('--no-checks');
fs.rmSync(outdir, { recursive: true, force: true });
const { templateFile } = synthesize({ outdir, policyDir: policyDir && path.resolve(policyDir), checks });
process.stdout.write(`template: ${path.relative(process.cwd(), templateFile)}\n`);
if (!checks) process.exit(0);

interface Report {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: unknown[];
    suppressedViolations: { ruleName: string; acknowledgedId?: string; reason?: string }[];
  }[];
}
const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as Report;
for (const p of report.pluginReports) {
  const byRule = new Map<string, number>();
  for (const s of p.suppressedViolations) {
    const rule = s.ruleName.replace(/\[.*$/, '');
    byRule.set(rule, (byRule.get(rule) ?? 0) + 1);
  }
  const kept = [...byRule].map(([rule, n]) => `${rule} x${n}`).join(', ');
  process.stdout.write(
    `${p.pluginName}: ${p.conclusion}, ${p.violations.length} violation(s), ` +
      `${p.suppressedViolations.length} acknowledged with a reason${kept ? ` (${kept})` : ''}\n`,
  );
}
