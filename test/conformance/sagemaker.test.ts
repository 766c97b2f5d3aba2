/**
 * SageMaker conformance: for every operation the activities call, requests SageMaker's API reference documents as
 * refused are refused by the local service with SageMaker's code (ValidationException) and message shape, naming
 * the member; and a valid request is never refused by validation. Cases and their documentation pages:
 * conformance-cases.ts.
 */
import * as sagemakerSdk from '@aws-sdk/client-sagemaker';
import type { LocalService } from '../../local/service/server';
import { SAGEMAKER } from './conformance-cases';
import { constraintAt, failure, startConformanceService, conformanceSageMaker } from './conformance-service';

let svc: LocalService;
let client: sagemakerSdk.SageMakerClient;

beforeAll(async () => {
  svc = await startConformanceService();
  client = conformanceSageMaker(svc);
});
afterAll(async () => svc?.close());

type Command = new (input: Record<string, unknown>) => Parameters<sagemakerSdk.SageMakerClient['send']>[0];
const send = (operation: string, input: Record<string, unknown>): Promise<unknown> => {
  const Ctor = (sagemakerSdk as unknown as Record<string, Command>)[`${operation}Command`];
  if (!Ctor) throw new Error(`no SDK command for ${operation}`);
  return client.send(new Ctor(input));
};

const refusals = SAGEMAKER.flatMap((op) => op.refused.map((c) => ({ ...c, operation: op.operation, doc: op.doc })));

test.each(refusals)('$operation refuses $what ($doc)', async ({ operation, input, path, constraint }) => {
  const err = await failure(send(operation, input));
  expect(err?.name).toBe('ValidationException');
  const quoted = constraintAt(err?.message ?? '', path);
  expect({ message: err?.message, quoted }).toEqual({
    message: err?.message,
    quoted: expect.stringMatching(constraint),
  });
});

test.each(SAGEMAKER)('$operation: a valid request passes validation ($doc)', async ({ operation, valid }) => {
  const err = await failure(send(operation, valid));
  expect(err?.message ?? '').not.toMatch(/validation errors? detected/);
  expect(err?.name).not.toBe('SerializationException');
});
