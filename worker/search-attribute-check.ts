/**
 * The worker's start-up check that the namespace has every search attribute the workflows upsert. Without it, the
 * first workflow task that upserts a missing one fails and is retried forever (the run looks stuck in the UI); with
 * it, the worker refuses to start and prints the command that registers them (self-hosted CLI or Temporal Cloud's
 * tcld: https://docs.temporal.io/self-hosted-guide/visibility/custom-search-attributes).
 */
import { temporal } from '@temporalio/proto';
import { PIPELINE_SEARCH_ATTRIBUTES } from '../contracts/search-attributes';

type Kind = (typeof PIPELINE_SEARCH_ATTRIBUTES)[keyof typeof PIPELINE_SEARCH_ATTRIBUTES];
const TYPE_NAMES: Record<number, string> = {
  [temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT]: 'Text',
  [temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]: 'Keyword',
  [temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT]: 'Int',
  [temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE]: 'Double',
  [temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL]: 'Bool',
  [temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME]: 'Datetime',
  [temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST]: 'KeywordList',
};

/** The slice of the operator service the check calls (NativeConnection and Connection both have it). */
export interface SearchAttributeLister {
  listSearchAttributes(req: {
    namespace: string;
  }): Promise<{ customAttributes?: Record<string, temporal.api.enums.v1.IndexedValueType> | null }>;
}

/** What the namespace lacks: attributes not registered, and attributes registered with another type. */
export interface SearchAttributeGaps {
  missing: { name: string; type: Kind }[];
  wrongType: { name: string; type: Kind; registered: string }[];
}

/** Compares the namespace's custom search attributes with the ones the workflows upsert. */
export async function findSearchAttributeGaps(
  operator: SearchAttributeLister,
  namespace: string,
): Promise<SearchAttributeGaps> {
  const { customAttributes } = await operator.listSearchAttributes({ namespace });
  const registered = customAttributes ?? {};
  const gaps: SearchAttributeGaps = { missing: [], wrongType: [] };
  for (const [name, type] of Object.entries(PIPELINE_SEARCH_ATTRIBUTES)) {
    const have = registered[name];
    if (have === undefined) gaps.missing.push({ name, type });
    else if (TYPE_NAMES[have] !== type)
      gaps.wrongType.push({ name, type, registered: TYPE_NAMES[have] ?? String(have) });
  }
  return gaps;
}

/** The message the worker exits with: what is missing and the commands that register it, per kind of cluster. */
export function searchAttributeGapsMessage(gaps: SearchAttributeGaps, namespace: string): string {
  const lines = [
    `Namespace "${namespace}" is missing search attributes the pipeline upserts; without them its first workflow task would fail and retry forever.`,
  ];
  for (const m of gaps.missing) lines.push(`  missing: ${m.name} (${m.type})`);
  for (const w of gaps.wrongType)
    lines.push(
      `  wrong type: ${w.name} is ${w.registered}, the pipeline needs ${w.type} (remove it and create it again)`,
    );
  const todo = [...gaps.missing, ...gaps.wrongType];
  lines.push('Register them once per namespace, then start the worker again.');
  lines.push('  Self-hosted Temporal (temporal CLI):');
  for (const a of todo)
    lines.push(
      `    temporal operator search-attribute create --namespace ${namespace} --name ${a.name} --type ${a.type}`,
    );
  lines.push('  Temporal Cloud (tcld; the namespace ID is <name>.<account>):');
  lines.push(
    `    tcld namespace search-attributes add --namespace ${namespace} ${todo.map((a) => `--search-attribute "${a.name}=${a.type}"`).join(' ')}`,
  );
  return lines.join('\n');
}

/** True when nothing is missing or mistyped. */
export function noGaps(gaps: SearchAttributeGaps): boolean {
  return gaps.missing.length === 0 && gaps.wrongType.length === 0;
}
