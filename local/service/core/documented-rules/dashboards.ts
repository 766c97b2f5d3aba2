/**
 * CloudWatch's PutDashboard rules that its model cannot express (botocore types DashboardName and DashboardBody as bare
 * strings) and moto does not check: the name's characters and length, and a body that is a JSON object whose widgets
 * sit on the 24-column grid (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
 * CloudWatch refuses with DashboardInvalidInputError, code InvalidParameterInput (botocore's model).
 */
import { AwsError } from '../protocol';
import type { RuleCheck } from './rule';

const NAME = /^[A-Za-z0-9_-]{1,255}$/;
const refuse = (message: string) => new AwsError('InvalidParameterInput', message, 400);

/** DashboardName: 1-255 characters of A-Z, a-z, 0-9, "-" and "_". */
export const dashboardName: RuleCheck = ({ body }) => {
  const name = body.DashboardName;
  if (typeof name === 'string' && !NAME.test(name))
    throw refuse(
      `The value ${JSON.stringify(name)} for field DashboardName is invalid: at most 255 characters, ` +
        'valid characters are A-Z, a-z, 0-9, "-" and "_"',
    );
};

/** DashboardBody: a JSON object; each widget's x is 0-23, width 1-24, height 1-1000 (the body structure page). */
export const dashboardBody: RuleCheck = ({ body }) => {
  const raw = body.DashboardBody;
  if (typeof raw !== 'string') return; // the model gate refuses a missing body
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw refuse('The field DashboardBody must be a valid JSON object');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw refuse('The field DashboardBody must be a valid JSON object');
  const widgets = (parsed as { widgets?: unknown }).widgets ?? [];
  if (!Array.isArray(widgets)) throw refuse('The field DashboardBody has an invalid value for widgets: an array');
  widgets.forEach((w: Record<string, unknown>, i) => {
    const within = (key: string, min: number, max: number) => {
      const v = w?.[key];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max))
        throw refuse(`The field DashboardBody has an invalid value for widgets[${i}].${key}: ${min}-${max}`);
    };
    within('x', 0, 23);
    within('width', 1, 24);
    within('height', 1, 1000);
  });
};
