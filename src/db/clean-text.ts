/**
 * Text Postgres accepts, for anything that came from outside (a webhook, a model's reply): a NUL
 * in a text column or a lone surrogate in jsonb makes it refuse the whole row, and a write that
 * can never succeed must not be retried forever.
 */

// C0 controls (NUL first of all: Postgres text cannot hold it) and DEL; tab, newline and CR stay.
// eslint-disable-next-line no-control-regex
const REFUSED_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;
// Half of a surrogate pair, which JSON allows as an escape and Postgres jsonb refuses.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function cleanText(value: string): string {
  return value.replace(REFUSED_CHARACTERS, '').replace(LONE_SURROGATE, '');
}
