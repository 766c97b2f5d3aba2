/**
 * The AWS CLI the data-sync bench compares against: a pinned `awscli` from PyPI in bench/.venvs/awscli (gitignored).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../../local/stack/config';

/** Pinned so the anchor does not move between runs; bump deliberately and re-run the bench. */
export const AWSCLI_VERSION = '1.46.3';
const VENV = path.join(REPO_ROOT, 'bench/.venvs/awscli');
/** Holds the installed version; its absence or a different version means (re)install. */
const STAMP = path.join(VENV, '.awscli-version');

/** Path of the `aws` executable, creating the venv on first use (idempotent: the stamp skips the install). */
export function ensureAwsCli(say: (msg: string) => void): string {
  const aws = path.join(VENV, 'bin', 'aws');
  if (fs.existsSync(aws) && fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8').trim() === AWSCLI_VERSION)
    return aws;
  say(`installing awscli==${AWSCLI_VERSION} from PyPI into ${path.relative(REPO_ROOT, VENV)} (once; about a minute)`);
  if (!fs.existsSync(path.join(VENV, 'bin', 'python')))
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  // pip reads PIP_CERT (the machine's CA bundle behind an intercepting proxy) from the environment itself.
  execFileSync(
    path.join(VENV, 'bin', 'pip'),
    ['install', '--quiet', '--disable-pip-version-check', `awscli==${AWSCLI_VERSION}`],
    { stdio: 'inherit' },
  );
  if (!fs.existsSync(aws)) throw new Error(`pip installed awscli==${AWSCLI_VERSION} but ${aws} is missing`);
  fs.writeFileSync(STAMP, `${AWSCLI_VERSION}\n`);
  return aws;
}
