/**
 * SageMaker Search over the resources the SageMaker Python SDK searches: model package groups (`register()` looks
 * its group up with `Search(Resource="ModelPackageGroup", Filters=[ModelPackageGroupName Equals …])`), training jobs
 * (`estimator.register()` finds the job behind its model artefact, `ModelArtifacts.S3ModelArtifacts Equals …`, for
 * the model card) and model packages. Filters (every Operator), SubExpressions with And/Or, SortBy/SortOrder and
 * NextToken work as documented
 * on https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Search.html; NestedFilters and the other resource
 * types are refused by name rather than answered wrongly.
 */
import { AwsError, invalid, paginate } from '../core/protocol';
import type { Body } from '../core/request-fields';

/** The records of one resource type, as Describe returns them plus their `Tags`. */
export type SearchSource = () => Record<string, unknown>[];

/** Every ResourceType in botocore's SageMaker model (SearchRequest.Resource). */
const RESOURCE_TYPES = [
  'TrainingJob',
  'Experiment',
  'ExperimentTrial',
  'ExperimentTrialComponent',
  'Endpoint',
  'Model',
  'ModelPackage',
  'ModelPackageGroup',
  'Pipeline',
  'PipelineExecution',
  'FeatureGroup',
  'FeatureMetadata',
  'Image',
  'ImageVersion',
  'Project',
  'HyperParameterTuningJob',
  'ModelCard',
  'PipelineVersion',
  'Job',
  'HubContent',
];
const OPERATORS = [
  'Equals',
  'NotEquals',
  'GreaterThan',
  'GreaterThanOrEqualTo',
  'LessThan',
  'LessThanOrEqualTo',
  'Contains',
  'Exists',
  'NotExists',
  'In',
] as const;
type Operator = (typeof OPERATORS)[number];
/** SearchRequest's documented bound on recursive SubExpressions, NestedFilters and Filters. */
const MAX_EXPRESSION_PARTS = 50;

interface Filter {
  Name: string;
  Operator: Operator;
  Value?: string;
}

interface Expression {
  Filters: Filter[];
  SubExpressions: Expression[];
  Operator: 'And' | 'Or';
}

function parseFilter(raw: unknown, where: string): Filter {
  const f = (raw ?? {}) as Record<string, unknown>;
  if (typeof f.Name !== 'string' || f.Name.length < 1 || f.Name.length > 255)
    throw invalid(
      `1 validation error detected: Value at '${where}.name' failed to satisfy constraint: Member must not be null`,
    );
  const op = (f.Operator ?? 'Equals') as Operator;
  if (!OPERATORS.includes(op))
    throw invalid(
      `1 validation error detected: Value '${String(f.Operator)}' at '${where}.operator' failed to satisfy constraint: Member must satisfy enum value set: [${OPERATORS.join(', ')}]`,
    );
  if (f.Value !== undefined && (typeof f.Value !== 'string' || f.Value.length < 1 || f.Value.length > 1024))
    throw invalid(
      `1 validation error detected: Value at '${where}.value' failed to satisfy constraint: Member must have length between 1 and 1024`,
    );
  if (f.Value === undefined && op !== 'Exists' && op !== 'NotExists')
    throw invalid(`A value is required for the ${op} operator of the filter on ${f.Name}.`);
  return { Name: f.Name, Operator: op, Value: f.Value as string | undefined };
}

function parseExpression(raw: unknown, where: string, budget: { left: number }): Expression {
  const e = (raw ?? {}) as Record<string, unknown>;
  if (e.NestedFilters !== undefined)
    throw new AwsError('ValidationException', 'NestedFilters are not supported by the local Search.', 400);
  const filters = (e.Filters ?? []) as unknown[];
  const subs = (e.SubExpressions ?? []) as unknown[];
  if (!Array.isArray(filters) || !Array.isArray(subs) || filters.length > 20 || subs.length > 20)
    throw invalid(
      `1 validation error detected: Value at '${where}' failed to satisfy constraint: at most 20 filters and 20 sub-expressions`,
    );
  budget.left -= filters.length + subs.length;
  if (budget.left < 0)
    throw invalid(
      `A SearchExpression may hold at most ${MAX_EXPRESSION_PARTS} SubExpressions, NestedFilters and Filters in all.`,
    );
  const op = e.Operator ?? 'And';
  if (op !== 'And' && op !== 'Or')
    throw invalid(
      `1 validation error detected: Value '${String(op)}' at '${where}.operator' failed to satisfy constraint: Member must satisfy enum value set: [And, Or]`,
    );
  if (filters.length + subs.length === 0)
    throw invalid('A SearchExpression must contain at least one Filter, NestedFilter or SubExpression.');
  return {
    Filters: filters.map((f, i) => parseFilter(f, `${where}.filters.${i + 1}.member`)),
    SubExpressions: subs.map((s, i) => parseExpression(s, `${where}.subExpressions.${i + 1}.member`, budget)),
    Operator: op,
  };
}

/** A record's property by Search's names: dotted paths into nested objects, `Tags.<key>` into the tag list. */
function property(record: Record<string, unknown>, name: string): unknown {
  if (name.startsWith('Tags.')) {
    const key = name.slice('Tags.'.length);
    return ((record.Tags ?? []) as { Key: string; Value: string }[]).find((t) => t.Key === key)?.Value;
  }
  let v: unknown = record;
  for (const part of name.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** Orders a property value against a filter value: numbers and times (epoch seconds or ISO dates) as numbers. */
function compare(actual: unknown, value: string): number {
  const asNumber = (x: unknown) => (typeof x === 'number' ? x : Number.NaN);
  const a = asNumber(actual);
  const b = Number.isFinite(Number(value)) ? Number(value) : Date.parse(value) / 1000;
  if (Number.isFinite(a) && Number.isFinite(b)) return a - b;
  return String(actual).localeCompare(value);
}

function matches(record: Record<string, unknown>, f: Filter): boolean {
  const actual = property(record, f.Name);
  const present = actual !== undefined && actual !== null;
  const value = f.Value as string;
  switch (f.Operator) {
    case 'Exists':
      return present;
    case 'NotExists':
      return !present;
    case 'Equals':
      return present && (typeof actual === 'object' ? false : compare(actual, value) === 0);
    case 'NotEquals':
      return !present || compare(actual, value) !== 0;
    case 'Contains':
      return present && String(typeof actual === 'object' ? JSON.stringify(actual) : actual).includes(value);
    case 'In':
      return present && value.split(',').some((v) => compare(actual, v.trim()) === 0);
    case 'GreaterThan':
      return present && compare(actual, value) > 0;
    case 'GreaterThanOrEqualTo':
      return present && compare(actual, value) >= 0;
    case 'LessThan':
      return present && compare(actual, value) < 0;
    case 'LessThanOrEqualTo':
      return present && compare(actual, value) <= 0;
  }
}

function evaluate(record: Record<string, unknown>, e: Expression): boolean {
  const results = [
    ...e.Filters.map((f) => () => matches(record, f)),
    ...e.SubExpressions.map((s) => () => evaluate(record, s)),
  ];
  return e.Operator === 'And' ? results.every((r) => r()) : results.some((r) => r());
}

/** The Search operation over the resource sources it is given. */
export class Search {
  constructor(private readonly sources: Partial<Record<string, SearchSource>>) {}

  handlers(): Record<string, (b: Body) => unknown> {
    return { Search: (b) => this.search(b) };
  }

  private search(b: Body): unknown {
    const resource = b.Resource;
    if (typeof resource !== 'string' || !RESOURCE_TYPES.includes(resource))
      throw invalid(
        `1 validation error detected: Value '${String(resource)}' at 'resource' failed to satisfy constraint: Member must satisfy enum value set: [${RESOURCE_TYPES.join(', ')}]`,
      );
    const source = this.sources[resource];
    if (!source)
      throw new AwsError(
        'ValidationException',
        `Search over ${resource} is not supported by the local SageMaker service (supported: ${Object.keys(this.sources).join(', ')}).`,
        400,
      );
    const expression =
      b.SearchExpression === undefined
        ? undefined
        : parseExpression(b.SearchExpression, 'searchExpression', { left: MAX_EXPRESSION_PARTS });
    const sortBy = b.SortBy === undefined ? 'LastModifiedTime' : String(b.SortBy);
    const order = b.SortOrder ?? 'Descending';
    if (order !== 'Ascending' && order !== 'Descending')
      throw invalid(
        `1 validation error detected: Value '${String(order)}' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [Ascending, Descending]`,
      );
    const key = (r: Record<string, unknown>) =>
      property(r, sortBy) ?? (sortBy === 'LastModifiedTime' ? r.CreationTime : undefined);
    const records = source()
      .filter((r) => !expression || evaluate(r, expression))
      .sort((x, y) => {
        const [a, c] = [key(x), key(y)];
        const d =
          typeof a === 'number' && typeof c === 'number' ? a - c : String(a ?? '').localeCompare(String(c ?? ''));
        return order === 'Ascending' ? d : -d;
      });
    const { page, NextToken } = paginate(records, b, 10, 100);
    return {
      Results: page.map((r) => ({ [resource]: r })),
      NextToken,
      TotalHits: { Value: records.length, Relation: 'EqualTo' },
    };
  }
}
