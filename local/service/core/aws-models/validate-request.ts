/**
 * Request validation against AWS's published models, per protocol:
 *  - AWS JSON 1.1 (SageMaker, CodeBuild, …): the JSON body is the operation's input structure
 *    ({@link validateInput});
 *  - REST JSON (SageMaker Runtime): members come from the path (`location: uri`), headers, the query string and the
 *    payload, which for InvokeEndpoint is the raw body as a blob ({@link validateRestInput}).
 * A value of the wrong JSON type is refused as AWS's JSON deserializer refuses it (SerializationException) before
 * any constraint is checked; then every broken constraint is reported in one ValidationException-style answer.
 * Members the model does not define are not refused: AWS's JSON services skip members they do not know, so that
 * newer clients keep working (https://smithy.io/2.0/guides/evolving-models.html: adding members is a
 * backward-compatible change); they are returned so that callers can log them and the request audit can flag them.
 */
import { memberPathName, ValueChecker, type Violation } from './check-value';
import { loadServiceModel } from './botocore-models';
import type { ServiceModel, Shape } from './model-types';
import { validationErrorCode, validationMessage } from './validation-message';

/** What AWS would answer to a request, judged by the model alone. */
export interface ModelVerdict {
  /** The error AWS answers; absent when the model accepts the request. */
  error?: { code: string; message: string; status: number };
  violations: Violation[];
  /** Paths of members the model does not define (AWS ignores them; the audit flags them). */
  unknownMembers: string[];
  /** Patterns that could not be checked because they do not translate (see patterns.ts). */
  uncheckedPatterns: string[];
}

/** Whether a service's model defines an operation. */
export function hasOperation(service: string, operation: string): boolean {
  return operation in loadServiceModel(service).operations;
}

function verdict(service: string, checker: ValueChecker): ModelVerdict {
  const { violations, serializationError, unknownMembers, uncheckedPatterns } = checker.out;
  const base = { violations, unknownMembers, uncheckedPatterns: [...new Set(uncheckedPatterns)] };
  if (serializationError)
    return { ...base, error: { code: 'SerializationException', message: serializationError, status: 400 } };
  if (violations.length)
    return {
      ...base,
      error: { code: validationErrorCode(service), message: validationMessage(violations), status: 400 },
    };
  return base;
}

function inputShape(model: ServiceModel, service: string, operation: string): Shape | undefined {
  const op = model.operations[operation];
  if (!op) throw new Error(`the botocore model of ${service} has no operation ${operation}`);
  return op.input ? model.shapes[op.input.shape] : undefined;
}

/** Validates an operation's whole input (a JSON 1.1 body, or an SDK command's input) against its input shape. */
export function validateInput(service: string, operation: string, input: unknown): ModelVerdict {
  const model = loadServiceModel(service);
  const shape = inputShape(model, service, operation);
  const checker = new ValueChecker(model);
  if (shape) checker.check(input ?? {}, shape, '');
  return verdict(service, checker);
}

/** The parts of a REST request that carry input members. */
export interface RestRequestParts {
  /** Path labels by name (`EndpointName`), already URL-decoded. */
  labels: Record<string, string>;
  /** Headers with lower-case names, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  query?: URLSearchParams;
  body: Buffer;
}

/** A header, label or query value read as the member's type (they all travel as text). */
function fromText(text: string, shape: Shape): unknown {
  if (shape.type === 'integer' || shape.type === 'long' || shape.type === 'float' || shape.type === 'double') {
    const n = Number(text);
    return text.trim() === '' || Number.isNaN(n) ? text : n;
  }
  if (shape.type === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  return text;
}

/** Validates a REST JSON request: members gathered from its path, headers, query string and payload. */
export function validateRestInput(service: string, operation: string, parts: RestRequestParts): ModelVerdict {
  const model = loadServiceModel(service);
  const shape = inputShape(model, service, operation);
  const checker = new ValueChecker(model);
  if (!shape) return verdict(service, checker);
  const input: Record<string, unknown> = {};
  let bodyMembers: Record<string, unknown> | undefined;
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    const member = checker.shape(ref);
    const wire = ref.locationName ?? name;
    let text: string | string[] | null | undefined;
    if (ref.location === 'uri') text = parts.labels[wire];
    else if (ref.location === 'header') text = parts.headers[wire.toLowerCase()];
    else if (ref.location === 'querystring') text = parts.query?.get(wire);
    else if (shape.payload === name) {
      if (member.type === 'blob') input[name] = { $blob: parts.body.length };
      else if (parts.body.length) input[name] = JSON.parse(parts.body.toString('utf8')) as unknown;
      continue;
    } else {
      bodyMembers ??=
        parts.body.length && !shape.payload ? (JSON.parse(parts.body.toString('utf8')) as Record<string, unknown>) : {};
      if (bodyMembers[name] !== undefined) input[name] = bodyMembers[name];
      continue;
    }
    if (Array.isArray(text)) text = text[0];
    if (text !== undefined && text !== null) input[name] = fromText(text, member);
  }
  checker.check(input, shape, '');
  if (bodyMembers)
    for (const key of Object.keys(bodyMembers))
      if (!(key in (shape.members ?? {}))) checker.out.unknownMembers.push(memberPathName(key));
  return verdict(service, checker);
}
