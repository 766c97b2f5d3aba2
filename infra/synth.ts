/**
 * `npm run infra:synth`: writes the template to infra/cdk.out/ (or --out <dir>) with cdk-nag's AWS Solutions checks
 * applied. An unacknowledged finding fails synthesis (the CDK's policy validation lists it); on success this prints
 * the acknowledged findings' count per rule, each with its reason in <out>/validation-report.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { synthesize } from './app';

const args = process.argv.slice(2);
const outArg = args.indexOf('--out') >= 0 ? args[args.indexOf('--out') + 1] : undefined;
const outdir = path.resolve(outArg ?? path.join(__dirname, 'cdk.out'));
fs.rmSync(outdir, { recursive: true, force: true });
const { templateFile } = synthesize({ outdir });
process.stdout.write(`template: ${path.relative(process.cwd(), templateFile)}\n`);

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
