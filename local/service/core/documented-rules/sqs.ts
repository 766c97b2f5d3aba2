/**
 * SQS ReceiveMessage's ranges, which its model cannot express (botocore types MaxNumberOfMessages, WaitTimeSeconds and
 * VisibilityTimeout as bare integers): at most 10 messages (API_ReceiveMessage: "Valid values: 1 to 10"), a long poll
 * of at most 20 s (the developer guide: "The maximum long polling wait time is 20 seconds"), and a visibility timeout
 * of 0 to 43,200 s (API_ChangeMessageVisibility: "Values range: 0 to 43200. Maximum: 12 hours"). moto checks the first
 * two with a garbled message and lets a negative visibility timeout through; the gateway refuses all three first, with
 * SQS's common error InvalidParameterValue ("An invalid or out-of-range value was supplied for the input parameter").
 */
import { AwsError } from '../protocol';
import type { RuleCheck } from './rule';

const RANGES: [member: string, min: number, max: number][] = [
  ['MaxNumberOfMessages', 1, 10],
  ['WaitTimeSeconds', 0, 20],
  ['VisibilityTimeout', 0, 43_200],
];

/** ReceiveMessage: MaxNumberOfMessages 1-10, WaitTimeSeconds 0-20, VisibilityTimeout 0-43200, when given. */
export const receiveMessageRanges: RuleCheck = ({ body }) => {
  for (const [member, min, max] of RANGES) {
    const v = body[member];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw new AwsError(
        'InvalidParameterValue',
        `Value ${JSON.stringify(v)} for parameter ${member} is invalid. Reason: Must be between ${min} and ${max}, if provided.`,
        400,
      );
  }
};
