/**
 * Runs the documented rules (table.ts) on a request before its operation: the server's one call site. A request
 * that breaks a rule is answered with the rule's AwsError and never reaches the handler, so nothing is created.
 */
import type { RequestRule, RuleRequest, RuleState } from './rule';
import { DOCUMENTED_RULES } from './table';

export type { DocumentedRule, RuleRequest, RuleState, TuningJobView } from './rule';
export { DOCUMENTED_RULES } from './table';

const byOperation = new Map<string, RequestRule[]>();
for (const rule of DOCUMENTED_RULES) {
  if (!('check' in rule)) continue;
  for (const op of rule.operations) {
    const key = `${rule.service}.${op}`;
    byOperation.set(key, [...(byOperation.get(key) ?? []), rule]);
  }
}

/** The request rules that apply to `service.operation`, in table order. */
export function requestRulesFor(service: string, operation: string): readonly RequestRule[] {
  return byOperation.get(`${service}.${operation}`) ?? [];
}

/** Throws the AwsError of the first documented rule the request breaks. */
export async function enforceDocumentedRules(request: RuleRequest, state: RuleState): Promise<void> {
  for (const rule of requestRulesFor(request.service, request.operation)) await rule.check(request, state);
}

/** The gateway's APIs (IAM prefix) whose requests have documented rules, as RuleRequest.service names them. */
const GATEWAY_SERVICES: Record<string, RuleRequest['service']> = { cloudwatch: 'CloudWatch', sqs: 'SQS' };

/** What a rule run at the gateway sees of local state: nothing (moto keeps those resources). */
const NO_STATE = new Proxy({} as RuleState, {
  get(_t, key) {
    throw new Error(`a documented rule of an API moto serves read local state (${String(key)})`);
  },
});

/**
 * Throws the AwsError of the first documented rule that a request the gateway forwards to moto breaks: moto does
 * not check what AWS documents beyond its model (e.g. PutDashboard's name characters). Such rules read the request
 * only.
 */
export async function enforceGatewayRules(call: { prefix: string; operation: string; body: RuleRequest['body'] }) {
  const service = GATEWAY_SERVICES[call.prefix];
  if (!service) return;
  for (const rule of requestRulesFor(service, call.operation))
    await rule.check({ service, operation: call.operation, body: call.body }, NO_STATE);
}
