/**
 * The pipeline's search attributes on the local dev server. A fresh server registers them from its command line
 * (launcher.ts); a server kept from an earlier `up` may predate one the workflows now upsert, and the worker refuses
 * to start without it: `up` adds what is missing.
 */
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { PIPELINE_SEARCH_ATTRIBUTES } from '../../contracts/search-attributes';

const INDEXED: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

/** Registers the pipeline's search attributes the server at `address` lacks; returns their names. */
export async function ensureSearchAttributes(address: string, namespace = 'default'): Promise<string[]> {
  const connection = await Connection.connect({ address });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.entries(PIPELINE_SEARCH_ATTRIBUTES).filter(([name]) => !customAttributes?.[name]);
    if (missing.length === 0) return [];
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED[type] as number])),
    });
    return missing.map(([name]) => name);
  } finally {
    await connection.close();
  }
}
