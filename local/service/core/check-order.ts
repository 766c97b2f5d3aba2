/**
 * The one order in which the local service checks every request it serves, whatever its protocol (JSON RPC,
 * SageMaker Runtime's REST): IAM, then injected faults, then AWS's model of the operation, then the documented
 * rules. AWS authorizes a request as it receives it, before the service looks at what it asks
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html), so a caller without
 * permission learns nothing about its input, and an injected fault stands for the service itself failing (it never
 * hides a refusal the caller would get on AWS). Faults come before validation, so a retried call meets the fault
 * however its input reads.
 */
import type { Refusal } from '../iam/denial';
import { AwsError } from './protocol';

/** The checks, in the order they run. */
export const CHECK_ORDER = ['iam', 'fault', 'model', 'rules'] as const;

/** One of the checks. */
export type Check = (typeof CHECK_ORDER)[number];

/** What a check that refuses answers: IAM's ready HTTP refusal, or the AwsError of the others. */
export type CheckAnswer = Refusal | AwsError;

/** The first check that refused, and its answer. */
export interface Refused {
  check: Check;
  answer: CheckAnswer;
}

/**
 * Runs the request's checks in CHECK_ORDER and returns the first refusal (undefined: every check passed). A check
 * that throws an AwsError refuses with it (the documented rules throw).
 */
export async function firstRefusal(
  checks: Record<Check, () => CheckAnswer | undefined | Promise<CheckAnswer | undefined>>,
): Promise<Refused | undefined> {
  for (const check of CHECK_ORDER) {
    let answer: CheckAnswer | undefined;
    try {
      answer = await checks[check]();
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      answer = err;
    }
    if (answer) return { check, answer };
  }
  return undefined;
}
