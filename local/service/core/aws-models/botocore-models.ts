/**
 * Loads AWS's API models from botocore's data directory in the tools venv (`.venv`, created by
 * `scripts/bootstrap.sh`; botocore ships `botocore/data/<service>/<api-version>/service-2.json.gz` for every AWS
 * service). Models are read once per process and cached.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { ServiceModel } from './model-types';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

/** Raised when botocore's models are not on disk: names where they were looked for and how to get them. */
export class ModelsMissing extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelsMissing';
  }
}

let dataDir: string | undefined;

/** The botocore `data` directory: `$LOCAL_BOTOCORE_DATA`, else the tools venv's site-packages. */
export function botocoreDataDir(): string {
  if (dataDir) return dataDir;
  const override = process.env.LOCAL_BOTOCORE_DATA;
  if (override) {
    if (!fs.existsSync(override)) throw new ModelsMissing(`LOCAL_BOTOCORE_DATA=${override} does not exist`);
    return (dataDir = override);
  }
  const lib = path.join(REPO_ROOT, '.venv', 'lib');
  const candidates = fs.existsSync(lib)
    ? fs
        .readdirSync(lib)
        .filter((d) => d.startsWith('python'))
        .map((d) => path.join(lib, d, 'site-packages', 'botocore', 'data'))
        .filter((d) => fs.existsSync(d))
    : [];
  if (candidates.length === 0)
    throw new ModelsMissing(
      `AWS service models not found: no botocore under ${lib}/python*/site-packages (the tools venv). ` +
        'Run `bash scripts/bootstrap.sh` to create it, or set LOCAL_BOTOCORE_DATA to a botocore/data directory.',
    );
  return (dataDir = candidates.sort().pop() as string);
}

const cache = new Map<string, ServiceModel>();

/** The newest API version of a service's model, by botocore's directory name (`sagemaker`, `logs`, `s3`, …). */
export function loadServiceModel(service: string): ServiceModel {
  const hit = cache.get(service);
  if (hit) return hit;
  const dir = path.join(botocoreDataDir(), service);
  if (!fs.existsSync(dir)) throw new ModelsMissing(`botocore has no model for service '${service}' (looked in ${dir})`);
  const version = fs
    .readdirSync(dir)
    .filter(
      (v) =>
        fs.existsSync(path.join(dir, v, 'service-2.json.gz')) || fs.existsSync(path.join(dir, v, 'service-2.json')),
    )
    .sort()
    .pop();
  if (!version) throw new ModelsMissing(`botocore has no service-2.json for '${service}' in ${dir}`);
  const gz = path.join(dir, version, 'service-2.json.gz');
  const text = fs.existsSync(gz)
    ? zlib.gunzipSync(fs.readFileSync(gz)).toString('utf8')
    : fs.readFileSync(path.join(dir, version, 'service-2.json'), 'utf8');
  const model = JSON.parse(text) as ServiceModel;
  cache.set(service, model);
  return model;
}
