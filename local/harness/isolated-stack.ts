/** A local-mode stack config of its own for an e2e test: fresh state dir and free ports, so tests never collide. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stackConfig, type StackConfig } from '../../local/stack/config';
import { freePort } from '../../local/shared/procs';

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
