import type { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const INDEXED: Record<SearchAttributeType, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.TEXT]: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  [SearchAttributeType.KEYWORD]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.INT]: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  [SearchAttributeType.DOUBLE]: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  [SearchAttributeType.BOOL]: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  [SearchAttributeType.DATETIME]: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  [SearchAttributeType.KEYWORD_LIST]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Adds the custom search attributes that are missing on the namespace; safe to run from every
 * worker at every start. Returns the names it added.
 */
export async function registerSearchAttributes(
  connection: Connection,
  namespace: string,
  keys: { name: string; type: SearchAttributeType }[],
): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = { ...existing.customAttributes, ...existing.systemAttributes };
  const missing = keys.filter((k) => !(k.name in known));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED[k.type]])),
    });
  } catch (err) {
    // Another worker registered them between our list and add.
    if (!/already exists/i.test((err as Error).message)) throw err;
  }
  return missing.map((k) => k.name);
}

/** Read-only: the keys a namespace lacks, and those it has with another type (validate-config). */
export async function searchAttributeStatus(
  connection: Connection,
  namespace: string,
  keys: { name: string; type: SearchAttributeType }[],
): Promise<{ missing: string[]; mistyped: string[] }> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known: Record<string, temporal.api.enums.v1.IndexedValueType> = { ...existing.customAttributes, ...existing.systemAttributes };
  return {
    missing: keys.filter((k) => !(k.name in known)).map((k) => k.name),
    mistyped: keys.filter((k) => k.name in known && known[k.name] !== INDEXED[k.type]).map((k) => k.name),
  };
}

const GRPC_NOT_FOUND = 5;

/** Whether the namespace exists (false on NOT_FOUND); any other failure is thrown. */
export async function namespaceExists(connection: Pick<Connection, 'workflowService'>, namespace: string): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === GRPC_NOT_FOUND || /not ?found/i.test(String((err as Error).message))) return false;
    throw err;
  }
}
