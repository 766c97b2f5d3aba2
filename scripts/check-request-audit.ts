/**
 * Validates a request audit against AWS's published models and prints every request AWS would refuse.
 * Record one by running the worker with `LOCAL_AWS_REQUEST_AUDIT=<file>`; then `npx tsx scripts/check-request-audit.ts
 * <file>`.
 * Exits 1 when any request is invalid.
 */
import { checkAuditFile, formatAuditReport } from '../local/service/core/aws-models/audit-check';

const file = process.argv[2];
if (!file) {
  console.error('usage: tsx scripts/check-request-audit.ts <audit.jsonl>');
  process.exit(2);
}
const report = checkAuditFile(file);
console.log(formatAuditReport(report));
process.exit(report.invalid.length ? 1 : 0);
