/**
 * How close local mode is to AWS, counted: the constraint inventory (local/service/core/documented-rules/inventory.ts)
 * covers every operation the activities call, names only documented rules that exist and every rule there is, and
 * points at places that exist; the model's own constraints are counted from botocore's models. The counts are
 * printed (`npx jest test/conformance/constraint-inventory.test.ts`, and in `npm test`), and
 * docs/local-mode-fidelity.md quotes them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { botocoreDataDir, loadServiceModel } from '../../local/service/core/aws-models/botocore-models';
import type { ServiceModel } from '../../local/service/core/aws-models/model-types';
import { DOCUMENTED_RULES } from '../../local/service/core/documented-rules';
import { apiPage, CONSTRAINT_INVENTORY } from '../../local/service/core/documented-rules/inventory';
import { activityOperations } from './activity-operations';

const REPO = path.resolve(__dirname, '../..');

/** Services whose every request the local service checks against the model (local/service/server.ts ModelGate). */
const GATED = [
  'sagemaker',
  'sagemaker-runtime',
  'codebuild',
  'application-autoscaling',
  'service-quotas',
  'iam',
  'sts',
];

/**
 * The constraints of an operation's input in AWS's model: each required member, and each min, max, pattern and enum
 * on a member, list element, map key or value reachable from the input (every shape counted once).
 */
function modelConstraints(model: ServiceModel, operation: string): number {
  const input = model.operations[operation]?.input?.shape;
  const seen = new Set<string>();
  let count = 0;
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const shape = model.shapes[name];
    if (!shape) return;
    count += shape.required?.length ?? 0;
    const refs = [...Object.values(shape.members ?? {}), shape.member, shape.key, shape.value];
    for (const ref of refs) {
      if (!ref) continue;
      const target = model.shapes[ref.shape];
      if (target) {
        const numeric = !['string', 'blob', 'list', 'map'].includes(target.type);
        if (target.min !== undefined && (numeric || target.min > 0)) count++;
        if (target.max !== undefined) count++;
        if (target.pattern !== undefined) count++;
        if (target.enum !== undefined) count++;
      }
      visit(ref.shape);
    }
  };
  if (input) visit(input);
  return count;
}

/** The file a `where` names, and the symbol it names in it (the first word after the path, if any). */
function place(where: string): { file: string; symbol?: string } {
  const moto = where.startsWith('moto: ');
  const [file, symbol] = (moto ? where.slice('moto: '.length) : where).split(' ');
  const root = moto ? path.dirname(path.dirname(botocoreDataDir())) : REPO;
  return {
    file: path.join(root, file as string),
    symbol: symbol && /^[A-Za-z_][\w.]*$/.test(symbol) ? symbol : undefined,
  };
}

const constraints = CONSTRAINT_INVENTORY.flatMap((o) => o.constraints.map((c) => ({ ...c, operation: o.operation })));

test('every operation the activities call has an entry, and nothing else does', () => {
  const key = (o: { service: string; operation: string }) => `${o.service}.${o.operation}`;
  const listed = CONSTRAINT_INVENTORY.map(key);
  expect(new Set(listed).size).toBe(listed.length);
  expect([...listed].sort()).toEqual(activityOperations().map(key).sort());
  for (const o of CONSTRAINT_INVENTORY) expect(o.page).toBe(apiPage(o.service, o.operation));
});

test('every referenced rule is in the table, and every rule in the table is referenced', () => {
  const ids = new Set(DOCUMENTED_RULES.map((r) => r.id));
  const referenced = new Set(constraints.flatMap((c) => ('rule' in c ? [c.rule] : [])));
  expect([...referenced].filter((id) => !ids.has(id))).toEqual([]);
  expect(DOCUMENTED_RULES.map((r) => r.id).filter((id) => !referenced.has(id))).toEqual([]);
});

test('every other place named exists, with the symbol it names; every source is an https page', () => {
  const broken = constraints.flatMap((c) => {
    if (!c.source.startsWith('https://')) return [`${c.operation}: source ${c.source}`];
    if (!('where' in c)) return [];
    const { file, symbol } = place(c.where);
    if (!fs.existsSync(file)) return [`${c.operation}: no file ${file}`];
    const name = symbol?.split('.').pop();
    const defined = new RegExp(
      `(?:\\b(?:def|function|const|class)\\s+${name}\\b|^\\s*(?:private |async |get )*${name}\\s*[(<:=])`,
      'm',
    );
    return name && !defined.test(fs.readFileSync(file, 'utf8'))
      ? [`${c.operation}: ${name} not defined in ${file}`]
      : [];
  });
  expect(broken).toEqual([]);
  for (const c of constraints) if (c.status === 'not-imitated') expect(c.reason.length).toBeGreaterThan(10);
});

test('the model gate guards the services counted as gated', () => {
  const server = fs.readFileSync(path.join(REPO, 'local/service/server.ts'), 'utf8');
  const gate = /new ModelGate\([\s\S]*?\[([^\]]*)\]/.exec(server)?.[1] ?? '';
  expect(GATED.filter((s) => !gate.includes(`'${s}'`))).toEqual([]);
});

test('prints the coverage counts, which docs/local-mode-fidelity.md quotes', () => {
  const ops = CONSTRAINT_INVENTORY;
  const model = ops.map((o) => ({
    gated: GATED.includes(o.service),
    n: modelConstraints(loadServiceModel(o.service), o.operation),
  }));
  const gated = model.filter((m) => m.gated).reduce((n, m) => n + m.n, 0);
  const ungated = model.filter((m) => !m.gated).reduce((n, m) => n + m.n, 0);
  const byRule = constraints.filter((c) => 'rule' in c).length;
  const elsewhere = constraints.filter((c) => 'where' in c).length;
  const not = constraints.filter((c) => c.status === 'not-imitated').length;
  const line =
    `Constraint coverage: ${ops.length} operations; model constraints ${gated + ungated} ` +
    `(${gated} enforced by the model gate, ${ungated} on services moto serves); documented constraints beyond the model ` +
    `${constraints.length}: imitated ${byRule + elsewhere} (${byRule} by documented rules, ${elsewhere} elsewhere), ` +
    `not imitated ${not}`;
  console.log(line);
  const fidelity = fs.readFileSync(path.join(REPO, 'docs/local-mode-fidelity.md'), 'utf8');
  expect(fidelity).toContain(line);
});
