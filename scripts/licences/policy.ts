/**
 * The licence policy for what we ship: a production dependency may not oblige its users to publish their source
 * (AGPL, GPL, LGPL, SSPL). Licences come as SPDX expressions: `A OR B` is acceptable when either side is, `A AND B`
 * only when both are. A licence nobody could identify is refused too: the gate cannot vouch for it.
 */

/** Licence families that are refused in production dependencies (matched as a prefix of the identifier). */
export const COPYLEFT_FAMILIES = ['AGPL', 'LGPL', 'GPL', 'SSPL'] as const;

/** What the policy says about one package's licence. */
export type LicenceVerdict =
  | { ok: true }
  | { ok: false; reason: 'copyleft'; licences: string[] }
  | { ok: false; reason: 'unknown'; licences: string[] };

type Expr = { id: string } | { op: 'AND' | 'OR'; args: Expr[] };

/** License checkers mark a licence read from a LICENSE file rather than package.json with a trailing `*`. */
const clean = (id: string): string => id.trim().replace(/\*$/, '');

const isCopyleft = (id: string): boolean => {
  const upper = clean(id).toUpperCase();
  return COPYLEFT_FAMILIES.some((family) => upper.startsWith(family));
};

const isUnknown = (id: string): boolean => /^(UNKNOWN|UNLICENSED|Custom:|$)/i.test(clean(id));

/** Parses an SPDX licence expression; undefined when it is not one (for example "Public Domain"). */
function parse(expression: string): Expr | undefined {
  const tokens = expression.match(/\(|\)|[^\s()]+/g) ?? [];
  let at = 0;
  const peek = (): string | undefined => tokens[at];
  const orExpr = (): Expr | undefined => {
    const args = [andExpr()];
    while (peek()?.toUpperCase() === 'OR') {
      at++;
      args.push(andExpr());
    }
    if (args.some((a) => a === undefined)) return undefined;
    return args.length === 1 ? args[0] : { op: 'OR', args: args as Expr[] };
  };
  const andExpr = (): Expr | undefined => {
    const args = [atom()];
    while (peek()?.toUpperCase() === 'AND') {
      at++;
      args.push(atom());
    }
    if (args.some((a) => a === undefined)) return undefined;
    return args.length === 1 ? args[0] : { op: 'AND', args: args as Expr[] };
  };
  const atom = (): Expr | undefined => {
    const token = tokens[at++];
    if (token === undefined || token === ')' || /^(AND|OR|WITH)$/i.test(token)) return undefined;
    if (token === '(') {
      const inner = orExpr();
      return tokens[at++] === ')' ? inner : undefined;
    }
    // `GPL-2.0 WITH Classpath-exception-2.0` is still GPL: the exception narrows it, it does not replace it.
    if (peek()?.toUpperCase() === 'WITH') at += 2;
    return { id: token };
  };
  const expr = orExpr();
  return expr && at === tokens.length ? expr : undefined;
}

/** The licences of `expr` that cannot be avoided, by kind: empty when the expression is acceptable. */
function unavoidable(expr: Expr): { copyleft: string[]; unknown: string[] } {
  if ('id' in expr) {
    const id = clean(expr.id);
    return { copyleft: isCopyleft(id) ? [id] : [], unknown: isUnknown(id) ? [id] : [] };
  }
  const parts = expr.args.map(unavoidable);
  const acceptable = (p: { copyleft: string[]; unknown: string[] }) => !p.copyleft.length && !p.unknown.length;
  if (expr.op === 'OR' && parts.some(acceptable)) return { copyleft: [], unknown: [] };
  return { copyleft: parts.flatMap((p) => p.copyleft), unknown: parts.flatMap((p) => p.unknown) };
}

/**
 * Judges one package's licence as a licence checker reports it: an SPDX expression, a free-text name, or several
 * (a package that lists more than one licence is judged as if it needed all of them).
 */
export function judgeLicence(licences: string | string[] | undefined): LicenceVerdict {
  const list = licences === undefined ? ['UNKNOWN'] : Array.isArray(licences) ? licences : [licences];
  const copyleft: string[] = [];
  const unknown: string[] = [];
  for (const text of list.length ? list : ['UNKNOWN']) {
    const expr = parse(text) ?? { id: text };
    const u = unavoidable(expr);
    copyleft.push(...u.copyleft);
    unknown.push(...u.unknown);
  }
  if (copyleft.length) return { ok: false, reason: 'copyleft', licences: copyleft };
  if (unknown.length) return { ok: false, reason: 'unknown', licences: unknown };
  return { ok: true };
}
