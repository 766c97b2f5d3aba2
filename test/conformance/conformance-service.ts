/**
 * An in-process local service for the conformance suite: no moto (validation answers before any handler runs;
 * the few valid requests that reach a handler and need S3 fail on their own, asynchronously), the fixture
 * container, an ephemeral port. Also the matcher for AWS's validation message.
 */
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { IamEnforcer } from '../../local/service/iam/enforcer';
import { PolicySet } from '../../local/service/iam/policies';
import { startLocalService, type LocalService } from '../../local/service/server';
import { ADMIN_CREDENTIALS } from '../../local/shared/credentials';

const REPO = path.resolve(__dirname, '../..');

/** Starts the local service on a free port with a throwaway state directory. */
export async function startConformanceService(): Promise<LocalService> {
  return startLocalService({
    stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'conformance-')),
    motoEndpoint: 'http://127.0.0.1:9',
    containerBinDir: path.join(REPO, 'test/fixtures/fake-container'),
    stopGraceMs: 1_000,
    metricsFlushMs: 60_000,
    checkpointSyncMs: 60_000,
    log: () => undefined,
    // No moto to read deployed roles from: the documents of iam/ under infra's role names, as a deployment has them.
    iam: new IamEnforcer(PolicySet.fromDocuments()),
  });
}

/**
 * A SageMaker client of the service as the account's administrator (the model gate and the documented rules are
 * under test, not IAM), without retries (a refusal is the answer under test).
 */
export function conformanceSageMaker(svc: LocalService): SageMakerClient {
  return new SageMakerClient({
    endpoint: svc.url,
    region: 'us-east-1',
    credentials: ADMIN_CREDENTIALS,
    maxAttempts: 1,
  });
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The constraint AWS's message quotes for `path`, or undefined when the message does not name it. Messages read
 * `N validation error(s) detected: Value '…' at '<path>' failed to satisfy constraint: <constraint>; Value …`.
 */
export function constraintAt(message: string, memberPath: string): string | undefined {
  if (!/^\d+ validation errors? detected: Value/.test(message)) return undefined;
  const m = new RegExp(`at '${escape(memberPath)}' failed to satisfy constraint: (.*?)(?:; Value[ ']|$)`, 's').exec(
    message,
  );
  return m?.[1];
}

/** The error a call failed with (name and message), or undefined when it succeeded. */
export async function failure(call: Promise<unknown>): Promise<{ name: string; message: string } | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    const e = err as { name: string; message: string };
    return { name: e.name, message: e.message };
  }
}
