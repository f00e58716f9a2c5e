/** A LIKE / ILIKE pattern matching `text` anywhere, with its own %, _ and \ taken literally. */
export const likePattern = (text: string): string => `%${text.replace(/[\\%_]/g, '\\$&')}%`;
