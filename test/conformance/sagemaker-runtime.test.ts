/**
 * SageMaker Runtime conformance (REST JSON): InvokeEndpoint requests its API reference documents as refused
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html: EndpointName
 * pattern and length, Body at most 6 MB, CustomAttributes at most 1024 characters) are refused with
 * ValidationError, the member named from the path, the headers or the payload; a sensitive Body is never echoed.
 */
import { ADMIN_CREDENTIALS } from '../../local/shared/credentials';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { LocalService } from '../../local/service/server';
import { constraintAt, failure, startConformanceService } from './conformance-service';

let svc: LocalService;
let client: SageMakerRuntimeClient;

beforeAll(async () => {
  svc = await startConformanceService();
  client = new SageMakerRuntimeClient({
    endpoint: svc.url,
    region: 'us-east-1',
    // The model gate is under test, not IAM: the administrator's requests reach it.
    credentials: ADMIN_CREDENTIALS,
    maxAttempts: 1,
  });
});
afterAll(async () => svc?.close());

const body = JSON.stringify({ inputs: 'x' });

test.each([
  {
    what: 'an endpoint name with an underscore (Pattern)',
    input: { EndpointName: 'bad_name', Body: body },
    path: 'endpointName',
    constraint: /^Member must satisfy regular expression pattern: \^\[a-zA-Z0-9\]\(-\*\[a-zA-Z0-9\]\)\*$/,
  },
  {
    what: 'an endpoint name of 64 characters (Maximum length of 63)',
    input: { EndpointName: 'e'.repeat(64), Body: body },
    path: 'endpointName',
    constraint: /^Member must have length less than or equal to 63$/,
  },
  {
    what: 'custom attributes of 1025 characters (Maximum length of 1024)',
    input: { EndpointName: 'ep', Body: body, CustomAttributes: 'a'.repeat(1025) },
    path: 'customAttributes',
    constraint: /^Member must have length less than or equal to 1024$/,
  },
  {
    what: 'a body over 6 MB (Maximum length of 6291456)',
    input: { EndpointName: 'ep', Body: Buffer.alloc(6 * 1024 * 1024 + 1, 0x61) },
    path: 'body',
    constraint: /^Member must have length less than or equal to 6291456$/,
  },
])('InvokeEndpoint refuses $what', async ({ input, path, constraint }) => {
  const err = await failure(client.send(new InvokeEndpointCommand(input)));
  expect(err?.name).toBe('ValidationError');
  expect(constraintAt(err?.message ?? '', path)).toMatch(constraint);
  if (path === 'body') expect(err?.message).toContain("Value at 'body'");
});

test('InvokeEndpoint: a valid request passes validation (and is answered: no such endpoint)', async () => {
  const err = await failure(client.send(new InvokeEndpointCommand({ EndpointName: 'conf-none', Body: body })));
  expect(err).toEqual({ name: 'ValidationError', message: 'Endpoint conf-none of account 123456789012 not found.' });
});
