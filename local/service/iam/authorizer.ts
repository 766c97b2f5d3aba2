/**
 * Decides requests with @cloud-copilot/iam-simulate, AWS's evaluation logic for identity policies (explicit deny
 * wins, then any allow, else an implicit deny). Kept fast for a proxy that sees every S3 part upload: the statements
 * that can apply to an action are picked once per (policy, action) and only those are simulated, and decisions are
 * remembered (the same Describe call every poll interval costs one map lookup). `stats()` reports the time spent.
 */
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { ACCOUNT_ID, REGION } from '../../shared/account';
import type { PolicyDocument, PolicyStatement } from './policies';

/** One authorization AWS performs for a request: an action on a resource, with the request's condition keys. */
export interface AuthCheck {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

/** Who is asking and what policy applies to them. */
export interface Caller {
  /** The ARN AWS names in its messages (`arn:aws:sts::<account>:assumed-role/<role>/<session>`). */
  arn: string;
  /** aws:PrincipalArn: for a role session, the role's ARN. */
  principalArn: string;
  policy: PolicyDocument;
}

/** A refused check, with what AWS's message needs. */
export interface Denial {
  callerArn: string;
  action: string;
  resource: string;
  /** An explicit Deny statement matched (else no statement allowed it). */
  explicit: boolean;
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

const MAX_CACHED = 50_000;

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM's action wildcard match (`*`, `?`), case-insensitive as IAM compares actions. */
function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
    'i',
  );
  return re.test(action);
}

function statementCovers(s: PolicyStatement, action: string): boolean {
  if (s.Action !== undefined) return asList(s.Action).some((p) => actionMatches(p, action));
  if (s.NotAction !== undefined) return !asList(s.NotAction).some((p) => actionMatches(p, action));
  return false;
}

/** Time and counts spent deciding, for the overhead report. */
export interface AuthorizerStats {
  checks: number;
  simulated: number;
  cacheHits: number;
  totalMs: number;
  /** Mean time per check in microseconds. */
  meanUs: number;
}

export class Authorizer {
  private readonly perAction = new WeakMap<PolicyDocument, Map<string, PolicyDocument | null>>();
  private readonly decisions = new Map<string, Decision>();
  private readonly counts = { checks: 0, simulated: 0, cacheHits: 0, ns: 0n };

  private readonly ids = new WeakMap<PolicyDocument, number>();
  private nextId = 0;
  private policyId(policy: PolicyDocument): number {
    let id = this.ids.get(policy);
    if (id === undefined) this.ids.set(policy, (id = this.nextId++));
    return id;
  }

  /** The statements of `policy` that can apply to `action`, as a policy of their own (null: none can). */
  private relevant(policy: PolicyDocument, action: string): PolicyDocument | null {
    let byAction = this.perAction.get(policy);
    if (!byAction) {
      byAction = new Map();
      this.perAction.set(policy, byAction);
    }
    const key = action.toLowerCase();
    let sub = byAction.get(key);
    if (sub === undefined) {
      const statements = (Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]).filter((statement) =>
        statementCovers(statement, action),
      );
      sub = statements.length ? { Version: policy.Version ?? '2012-10-17', Statement: statements } : null;
      byAction.set(key, sub);
    }
    return sub;
  }

  /** AWS's decision for one check. */
  decide(caller: Caller, check: AuthCheck): Decision {
    const started = process.hrtime.bigint();
    try {
      this.counts.checks++;
      const context: Record<string, string | string[]> = {
        'aws:PrincipalArn': caller.principalArn,
        'aws:PrincipalAccount': ACCOUNT_ID,
        'aws:RequestedRegion': REGION,
        ...check.context,
      };
      const policy = this.relevant(caller.policy, check.action);
      if (!policy) return 'ImplicitlyDenied';
      const key = [
        this.policyId(caller.policy),
        caller.arn,
        check.action,
        check.resource,
        JSON.stringify(context),
      ].join('\u0000');
      const cached = this.decisions.get(key);
      if (cached) {
        this.counts.cacheHits++;
        return cached;
      }
      this.counts.simulated++;
      const result = runUnsafeSimulation(
        {
          request: {
            principal: caller.arn,
            action: check.action,
            resource: { resource: check.resource, accountId: ACCOUNT_ID },
            contextVariables: context,
          },
          identityPolicies: [{ name: 'identity', policy }],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
        },
        {},
      ) as Decision;
      if (this.decisions.size >= MAX_CACHED) {
        // Forget the oldest half: insertion order is age.
        let drop = MAX_CACHED / 2;
        for (const k of this.decisions.keys()) {
          this.decisions.delete(k);
          if (--drop === 0) break;
        }
      }
      this.decisions.set(key, result);
      return result;
    } finally {
      this.counts.ns += process.hrtime.bigint() - started;
    }
  }

  /** The first check AWS would refuse, in order (AWS reports the first authorization that fails). */
  firstDenial(caller: Caller, checks: AuthCheck[]): Denial | undefined {
    for (const c of checks) {
      const d = this.decide(caller, c);
      if (d !== 'Allowed')
        return { callerArn: caller.arn, action: c.action, resource: c.resource, explicit: d === 'ExplicitlyDenied' };
    }
    return undefined;
  }

  stats(): AuthorizerStats {
    const totalMs = Number(this.counts.ns) / 1e6;
    return {
      checks: this.counts.checks,
      simulated: this.counts.simulated,
      cacheHits: this.counts.cacheHits,
      totalMs: Math.round(totalMs * 1000) / 1000,
      meanUs: this.counts.checks ? Math.round((totalMs * 1000) / this.counts.checks) : 0,
    };
  }
}
