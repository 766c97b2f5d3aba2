/**
 * Reads a buildspec as CodeBuild does (version 0.2, https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html):
 * `env` (`shell`, `variables`, `exported-variables`), the four `phases` (`commands`, `finally`, `on-failure`) and
 * `artifacts` (`files`, `base-directory`, `discard-paths`, `name`). What local mode does not serve is refused with a
 * sentence saying so (`parameter-store`, `secrets-manager`, `run-as` other than root, batch builds, version 0.1);
 * what only tunes CodeBuild's own infrastructure (`cache`, `reports`, `proxy`, `runtime-versions`) is noted in the
 * build log and skipped. A malformed file is a YAML_FILE_ERROR naming the key, as CodeBuild's are.
 *
 * YAML is read with PyYAML's BaseLoader from the tools venv (every scalar stays the string it was written as, so
 * `version: 0.2` or `discard-paths: yes` mean what the file says; no YAML dependency on the Node side).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../stack/config';

export const PHASE_KEYS = ['install', 'pre_build', 'build', 'post_build'] as const;
export type PhaseKey = (typeof PHASE_KEYS)[number];

export interface BuildspecPhase {
  commands: string[];
  finally: string[];
  /** ABORT / CONTINUE; undefined: CodeBuild's phase transitions. */
  onFailure?: 'ABORT' | 'CONTINUE';
}

export interface BuildspecArtifacts {
  files: string[];
  baseDirectory?: string;
  discardPaths: boolean;
  name?: string;
}

export interface Buildspec {
  /** The shell commands run in: `/bin/sh` (CodeBuild's default on Linux) or `bash`. */
  shell: '/bin/sh' | 'bash';
  variables: Record<string, string>;
  exportedVariables: string[];
  phases: Partial<Record<PhaseKey, BuildspecPhase>>;
  artifacts?: BuildspecArtifacts;
  /** Keys that were skipped, one sentence each (logged). */
  notes: string[];
}

/** A buildspec CodeBuild would refuse: `code` is the phase context's status code. */
export class BuildspecError extends Error {
  constructor(
    message: string,
    readonly code = 'YAML_FILE_ERROR',
  ) {
    super(message);
  }
}

type Node = string | Node[] | { [k: string]: Node };

const PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');
const LOAD_YAML = [
  'import json, sys, yaml',
  'try:',
  '    doc = yaml.load(open(sys.argv[1], encoding="utf-8"), Loader=yaml.BaseLoader)',
  'except yaml.YAMLError as e:',
  '    print(str(e).replace("\\n", " "), file=sys.stderr); sys.exit(3)',
  'json.dump(doc, sys.stdout)',
].join('\n');

/** Reads and checks `file` (relative names are what CodeBuild reports in its messages). */
export function loadBuildspec(file: string, shownAs = path.basename(file)): Buildspec {
  if (!fs.existsSync(file)) throw new BuildspecError(`stat ${shownAs}: no such file or directory`);
  let json: string;
  try {
    json = execFileSync(PYTHON, ['-c', LOAD_YAML, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { status?: number; stderr?: string; message: string };
    if (e.status === 3) throw new BuildspecError(`Error parsing ${shownAs}: ${String(e.stderr).trim()}`);
    throw new Error(`could not read ${shownAs} with ${PYTHON} (run scripts/bootstrap.sh): ${e.stderr || e.message}`);
  }
  return parseBuildspec(JSON.parse(json) as Node | null);
}

const isMap = (n: Node | null | undefined): n is { [k: string]: Node } =>
  typeof n === 'object' && n !== null && !Array.isArray(n);

function strings(n: Node | undefined, what: string): string[] {
  if (n === undefined || n === '') return [];
  if (!Array.isArray(n)) throw new BuildspecError(`Expected ${what} to be a list of strings`);
  return n.map((c, i) => {
    if (typeof c !== 'string')
      throw new BuildspecError(
        `Expected ${what}[${i}] to be of string type: found ${Array.isArray(c) ? 'a list' : 'subkeys'} instead`,
      );
    return c;
  });
}

function yesNo(n: Node | undefined, what: string): boolean {
  if (n === undefined) return false;
  if (typeof n === 'string' && /^(yes|true|on)$/i.test(n)) return true;
  if (typeof n === 'string' && /^(no|false|off)$/i.test(n)) return false;
  throw new BuildspecError(`${what} must be yes or no, got ${JSON.stringify(n)}`);
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function parseEnv(env: Node | undefined, spec: Buildspec): void {
  if (env === undefined) return;
  if (!isMap(env)) throw new BuildspecError('env must be a mapping');
  for (const key of Object.keys(env)) {
    const v = env[key];
    switch (key) {
      case 'shell':
        if (v !== 'bash' && v !== '/bin/sh' && v !== 'sh')
          throw new BuildspecError(`env/shell ${JSON.stringify(v)} is not supported on Linux: use bash or /bin/sh`);
        spec.shell = v === 'bash' ? 'bash' : '/bin/sh';
        break;
      case 'variables':
        if (v === '') break;
        if (!isMap(v)) throw new BuildspecError('env/variables must be a mapping of names to values');
        for (const [name, value] of Object.entries(v)) {
          if (!NAME.test(name))
            throw new BuildspecError(`env/variables: ${JSON.stringify(name)} is not a variable name`);
          if (name.startsWith('CODEBUILD_'))
            throw new BuildspecError(`env/variables: ${name}: the CODEBUILD_ prefix is reserved for internal use`);
          if (typeof value !== 'string') throw new BuildspecError(`env/variables/${name} must be a scalar value`);
          spec.variables[name] = value;
        }
        break;
      case 'exported-variables':
        for (const name of strings(v, 'env/exported-variables')) {
          if (!NAME.test(name))
            throw new BuildspecError(`env/exported-variables: ${JSON.stringify(name)} is not a variable name`);
          spec.exportedVariables.push(name);
        }
        break;
      case 'parameter-store':
      case 'secrets-manager':
        throw new BuildspecError(
          `env/${key} is not served by the local CodeBuild (local mode has no ${key === 'parameter-store' ? 'Systems Manager Parameter Store' : 'Secrets Manager'}): ` +
            'pass the value as an environment variable of the project or of StartBuild',
          'Decrypted Variables Error',
        );
      case 'git-credential-helper':
        spec.notes.push('env/git-credential-helper is ignored: the local CodeBuild builds from S3 sources only');
        break;
      default:
        throw new BuildspecError(`env: unknown key ${JSON.stringify(key)}`);
    }
  }
}

function parsePhase(key: PhaseKey, n: Node | undefined, spec: Buildspec): BuildspecPhase | undefined {
  if (n === undefined || n === '') return undefined;
  if (!isMap(n)) throw new BuildspecError(`phases/${key} must be a mapping`);
  const phase: BuildspecPhase = { commands: [], finally: [] };
  for (const k of Object.keys(n)) {
    const v = n[k];
    switch (k) {
      case 'commands':
        phase.commands = strings(v, `phases/${key}/commands`);
        break;
      case 'finally':
        phase.finally = strings(v, `phases/${key}/finally`);
        break;
      case 'on-failure':
        if (v !== 'ABORT' && v !== 'CONTINUE')
          throw new BuildspecError(
            `phases/${key}/on-failure ${JSON.stringify(v)} is not served by the local CodeBuild: use ABORT or CONTINUE`,
          );
        phase.onFailure = v;
        break;
      case 'run-as':
        if (v !== 'root')
          throw new BuildspecError(`phases/${key}/run-as ${JSON.stringify(v)}: the local CodeBuild runs as root only`);
        break;
      case 'runtime-versions':
        if (key !== 'install') throw new BuildspecError(`phases/${key}: runtime-versions belongs to the install phase`);
        // CodeBuild's own words for an image without runtime selection.
        spec.notes.push(
          'Skipping install of runtimes. Runtime version selection is not supported by this build image.',
        );
        break;
      default:
        throw new BuildspecError(`phases/${key}: unknown key ${JSON.stringify(k)}`);
    }
  }
  return phase;
}

/** Checks a parsed buildspec document (scalars as strings, as BaseLoader reads them). */
export function parseBuildspec(doc: Node | null): Buildspec {
  if (!isMap(doc)) throw new BuildspecError('the buildspec must be a YAML mapping');
  const spec: Buildspec = { shell: '/bin/sh', variables: {}, exportedVariables: [], phases: {}, notes: [] };
  const version = doc.version;
  if (version === undefined) throw new BuildspecError('version is required (0.2)');
  if (version !== '0.2')
    throw new BuildspecError(
      `buildspec version ${JSON.stringify(version)} is not served by the local CodeBuild: it runs version 0.2`,
    );
  for (const key of Object.keys(doc)) {
    const v = doc[key];
    switch (key) {
      case 'version':
        break;
      case 'run-as':
        if (v !== 'root')
          throw new BuildspecError(`run-as ${JSON.stringify(v)}: the local CodeBuild runs as root only`);
        break;
      case 'env':
        parseEnv(v, spec);
        break;
      case 'phases':
        if (!isMap(v)) throw new BuildspecError('phases must be a mapping');
        for (const k of Object.keys(v))
          if (!(PHASE_KEYS as readonly string[]).includes(k))
            throw new BuildspecError(
              `phases: unknown phase ${JSON.stringify(k)} (install, pre_build, build, post_build)`,
            );
        for (const k of PHASE_KEYS) {
          const p = parsePhase(k, v[k], spec);
          if (p) spec.phases[k] = p;
        }
        break;
      case 'artifacts':
        spec.artifacts = parseArtifacts(v, spec);
        break;
      case 'batch':
        throw new BuildspecError('batch builds are not served by the local CodeBuild');
      case 'cache':
      case 'reports':
      case 'proxy':
        spec.notes.push(`${key} is ignored by the local CodeBuild`);
        break;
      default:
        throw new BuildspecError(`unknown top-level key ${JSON.stringify(key)}`);
    }
  }
  return spec;
}

function parseArtifacts(n: Node | undefined, spec: Buildspec): BuildspecArtifacts | undefined {
  if (n === undefined || n === '') return undefined;
  if (!isMap(n)) throw new BuildspecError('artifacts must be a mapping');
  const files = strings(n.files, 'artifacts/files');
  if (files.length === 0) throw new BuildspecError('artifacts/files is required');
  const out: BuildspecArtifacts = { files, discardPaths: yesNo(n['discard-paths'], 'artifacts/discard-paths') };
  for (const k of Object.keys(n)) {
    const v = n[k];
    if (k === 'base-directory' || k === 'name') {
      if (typeof v !== 'string') throw new BuildspecError(`artifacts/${k} must be a string`);
      if (k === 'name') out.name = v;
      else out.baseDirectory = v;
    } else if (k === 'secondary-artifacts' || k === 'enable-symlinks' || k === 's3-prefix') {
      spec.notes.push(`artifacts/${k} is ignored by the local CodeBuild (primary artifacts only)`);
    } else if (k !== 'files' && k !== 'discard-paths') {
      throw new BuildspecError(`artifacts: unknown key ${JSON.stringify(k)}`);
    }
  }
  return out;
}
