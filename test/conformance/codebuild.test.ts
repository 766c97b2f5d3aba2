/**
 * CodeBuild conformance: for every operation the activities call, requests CodeBuild's API reference documents as
 * refused are refused with CodeBuild's client-input error (InvalidInputException) and AWS's validation message,
 * naming the member; a valid request is never refused by validation. Cases: conformance-cases.ts.
 */
import { ADMIN_CREDENTIALS } from '../../local/shared/credentials';
import * as codebuildSdk from '@aws-sdk/client-codebuild';
import type { LocalService } from '../../local/service/server';
import { CODEBUILD } from './conformance-cases';
import { constraintAt, failure, startConformanceService } from './conformance-service';

let svc: LocalService;
let client: codebuildSdk.CodeBuildClient;

beforeAll(async () => {
  svc = await startConformanceService();
  client = new codebuildSdk.CodeBuildClient({
    endpoint: svc.url,
    region: 'us-east-1',
    // The model gate is under test, not IAM: the administrator's requests reach it.
    credentials: ADMIN_CREDENTIALS,
    maxAttempts: 1,
  });
});
afterAll(async () => svc?.close());

type Command = new (input: Record<string, unknown>) => Parameters<codebuildSdk.CodeBuildClient['send']>[0];
const send = (operation: string, input: Record<string, unknown>): Promise<unknown> => {
  const Ctor = (codebuildSdk as unknown as Record<string, Command>)[`${operation}Command`];
  if (!Ctor) throw new Error(`no SDK command for ${operation}`);
  return client.send(new Ctor(input));
};

const refusals = CODEBUILD.flatMap((op) => op.refused.map((c) => ({ ...c, operation: op.operation, doc: op.doc })));

test.each(refusals)('$operation refuses $what ($doc)', async ({ operation, input, path, constraint }) => {
  const err = await failure(send(operation, input));
  expect(err?.name).toBe('InvalidInputException');
  const quoted = constraintAt(err?.message ?? '', path);
  expect({ message: err?.message, quoted }).toEqual({
    message: err?.message,
    quoted: expect.stringMatching(constraint),
  });
});

test.each(CODEBUILD)('$operation: a valid request passes validation ($doc)', async ({ operation, valid }) => {
  const err = await failure(send(operation, valid));
  expect(err?.message ?? '').not.toMatch(/validation errors? detected/);
  expect(err?.name).not.toBe('SerializationException');
});
