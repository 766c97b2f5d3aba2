/**
 * Checks a request audit (worker/request-audit.ts: one `{service, operation, input}` JSON line per AWS request the
 * worker sent) against AWS's published models. A request is invalid when AWS would refuse it (the model's error
 * message), when its operation is not in the model, or when it carries members the model does not define (the SDK
 * drops those silently, so what the code meant never reaches AWS).
 */
import fs from 'node:fs';
import { hasOperation, validateInput } from './validate-request';
import { AUDITED_SERVICES } from './service-names';

/** One recorded request. */
export interface AuditLine {
  service: string;
  operation: string;
  input: unknown;
}

/** A request the models refuse, with why. */
export interface AuditFinding {
  line: number;
  service: string;
  operation: string;
  problems: string[];
  input: unknown;
}

/** The verdict on a whole audit. */
export interface AuditReport {
  requests: number;
  invalid: AuditFinding[];
  /** Requests per `service.Operation`. */
  byOperation: Record<string, number>;
  /** Patterns that could not be checked (untranslatable or out of time), if any. */
  uncheckedPatterns: string[];
}

/** Validates recorded requests. */
export function checkAudit(lines: AuditLine[]): AuditReport {
  const report: AuditReport = { requests: lines.length, invalid: [], byOperation: {}, uncheckedPatterns: [] };
  lines.forEach((req, i) => {
    const key = `${req.service}.${req.operation}`;
    report.byOperation[key] = (report.byOperation[key] ?? 0) + 1;
    const problems: string[] = [];
    if (!(AUDITED_SERVICES as readonly string[]).includes(req.service))
      problems.push(`no model is checked for service '${req.service}'`);
    else if (!hasOperation(req.service, req.operation))
      problems.push(`operation ${req.operation} is not in the ${req.service} model`);
    else {
      const v = validateInput(req.service, req.operation, req.input);
      if (v.error) problems.push(`${v.error.code}: ${v.error.message}`);
      for (const m of v.unknownMembers) problems.push(`'${m}' is not a member of the model: the SDK drops it`);
      report.uncheckedPatterns.push(...v.uncheckedPatterns);
    }
    if (problems.length)
      report.invalid.push({ line: i + 1, service: req.service, operation: req.operation, problems, input: req.input });
  });
  report.uncheckedPatterns = [...new Set(report.uncheckedPatterns)];
  return report;
}

/** Reads and validates an audit file. */
export function checkAuditFile(file: string): AuditReport {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const lines = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as AuditLine);
  return checkAudit(lines);
}

/** A human-readable summary: counts per operation, then every invalid request with its problems. */
export function formatAuditReport(report: AuditReport): string {
  const out = [
    `${report.requests} requests, ${report.invalid.length} invalid against AWS's models`,
    ...Object.entries(report.byOperation)
      .sort()
      .map(([op, n]) => `  ${op}: ${n}`),
  ];
  for (const f of report.invalid) {
    out.push(`#${f.line} ${f.service}.${f.operation}:`);
    for (const p of f.problems) out.push(`    ${p}`);
    out.push(`    input: ${JSON.stringify(f.input).slice(0, 2000)}`);
  }
  if (report.uncheckedPatterns.length) out.push(`patterns not checked: ${report.uncheckedPatterns.join(', ')}`);
  return out.join('\n');
}
