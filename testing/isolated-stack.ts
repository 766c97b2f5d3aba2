/** A local-mode stack config of its own for an e2e test: fresh state dir and free ports, so tests never collide. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, stackConfig, type StackConfig } from '../local/stack/config';
import { freePort } from '../local/shared/procs';

/**
 * Roles the local-service tests run their jobs under (test/fixtures/iam/test-roles.json, for LOCAL_IAM_ROLES):
 * permissive on the tests' own buckets, so those tests exercise the jobs' mechanics; the pipeline tests use the
 * roles and policies of iam/.
 */
export const TEST_ROLES_FILE = path.join(REPO_ROOT, 'test', 'fixtures', 'iam', 'test-roles.json');

/** A stack config under a new temp dir (`<prefix>-XXXX`) with every component on a free port. */
export async function isolatedStackConfig(prefix: string, containerBinDir: string): Promise<StackConfig> {
  return {
    ...stackConfig({}),
    stateDir: fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`)),
    temporalPort: await freePort(),
    temporalUiPort: await freePort(),
    motoPort: await freePort(),
    servicePort: await freePort(),
    containerBinDir,
  };
}
