/**
 * Seed 004's lists page with `skip`, seed 000's conversations with `offset`. A list that pages
 * with `skip` takes `offset` as another name for it (doc.queryAliases), so a client written for
 * either pages every list; giving both is a 400.
 */
export const OFFSET_FOR_SKIP = { offset: 'skip' } as const;
