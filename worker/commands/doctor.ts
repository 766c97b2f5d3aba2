/**
 * `npm run cli -- doctor --spec <file>`: the account preflight the pipeline runs first
 * (activities/account-preflight.ts), run from a terminal before starting anything. Prints every finding (ok, note,
 * PROBLEM with the command that requests a quota increase) and exits 1 when the account would refuse the run.
 */
import { accountFindings } from '../../activities/account-preflight';
import type { AwsClients } from '../../activities/deps';
import { accountPreflightInput } from '../../contracts/account-preflight';
import { formatIssues, validateSpec } from '../../contracts/validation';
import { readSpecFile } from '../spec-file';

/** Where doctor prints. */
export interface DoctorIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const LABEL = { ok: 'ok     ', note: 'note   ', problem: 'PROBLEM' } as const;

/** Checks the account for a spec file with `clients` (made for `region`); returns the exit status. */
export async function doctorCommand(
  file: string,
  makeClients: (region: string) => AwsClients,
  workerRegion: string | undefined,
  io: DoctorIo,
  options: { principalArn?: string } = {},
): Promise<number> {
  const read = readSpecFile(file);
  if (!read.ok) {
    io.err(read.message);
    return 1;
  }
  const result = validateSpec(read.raw);
  if (!result.ok) {
    io.err(`${file}: ${result.issues.length} invalid field(s)\n${formatIssues(result.issues)}`);
    return 1;
  }
  const spec = result.spec;
  const region = spec.region ?? workerRegion;
  if (!region) {
    io.err(`${file}: no region: set "region" in the spec or AWS_REGION`);
    return 1;
  }
  if (workerRegion && spec.region && workerRegion !== spec.region)
    io.out(`note: the spec's region ${spec.region} is not AWS_REGION ${workerRegion}; checking ${spec.region}`);
  io.out(`doctor ${file}: pipeline "${spec.pipelineName}" in ${region}`);
  const findings = await accountFindings(makeClients(region), accountPreflightInput(spec), options);
  for (const f of findings) {
    io.out(`  ${LABEL[f.status]}  ${f.check.padEnd(10)} ${f.message}`);
    if (f.fix) io.out(`           ${''.padEnd(10)} request: ${f.fix}`);
  }
  const problems = findings.filter((f) => f.status === 'problem').length;
  if (problems) {
    io.out(`REFUSED: ${problems} problem(s); a run with this spec would fail. Fix them and run doctor again.`);
    return 1;
  }
  io.out(`OK: the account can run ${file} (${findings.length} checks).`);
  return 0;
}
