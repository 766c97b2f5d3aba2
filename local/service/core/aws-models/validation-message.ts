/**
 * AWS's answer to a request that breaks its model: the service's validation error code and the message its
 * request validation writes, e.g.
 * `1 validation error detected: Value 'a_b' at 'trainingJobName' failed to satisfy constraint: Member must satisfy
 * regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`, or `2 validation errors detected: …; …`.
 * Values print as `Value null` when missing, `Value at` (no value) for members the model marks sensitive.
 */
import type { Violation } from './check-value';
import { javaString } from './java-values';

/**
 * The error code each service answers a constraint violation with: the service's own modeled client-error shape
 * where it has one. CloudWatch Logs answers `InvalidParameterException: 1 validation error detected: …` (seen in
 * its users' reports, e.g. https://github.com/lazywithclass/winston-cloudwatch/issues/136); SageMaker answers
 * `ValidationException` (not in its model; https://github.com/Kenza-AI/sagify/issues/57); SageMaker Runtime
 * models `ValidationError`. CodeBuild models `InvalidInputException` for bad input and is assumed to use it the same
 * way (no public report of the exact code was found).
 */
const CODES: Record<string, string> = {
  sagemaker: 'ValidationException',
  'sagemaker-runtime': 'ValidationError',
  codebuild: 'InvalidInputException',
  logs: 'InvalidParameterException',
};

/** The error code a service answers model violations with. */
export function validationErrorCode(service: string): string {
  return CODES[service] ?? 'ValidationException';
}

/** One violation as AWS words it. */
export function describeViolation(v: Violation): string {
  const value =
    v.shape.sensitive && v.value !== null ? '' : v.value === null ? ' null' : ` '${javaString(v.value, v.shape)}'`;
  return `Value${value} at '${v.path}' failed to satisfy constraint: ${v.constraint}`;
}

/** The whole message for one or more violations. */
export function validationMessage(violations: Violation[]): string {
  const n = violations.length;
  return `${n} validation error${n === 1 ? '' : 's'} detected: ${violations.map(describeViolation).join('; ')}`;
}
