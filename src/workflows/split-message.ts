import { WHATSAPP_TEXT_LIMIT } from './definitions';

/**
 * Splits a reply into WhatsApp-sized parts, preferring paragraph, then line, then word breaks so a
 * part never ends mid-word unless a single word is longer than the limit.
 */
export function splitMessage(text: string, limit = WHATSAPP_TEXT_LIMIT): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    const window = rest.slice(0, limit + 1);
    let cut = -1;
    for (const sep of ['\n\n', '\n', ' ']) {
      const at = window.lastIndexOf(sep);
      if (at > limit / 2) {
        cut = at;
        break;
      }
    }
    if (cut === -1) cut = limit;
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0) parts.push(rest);
  return parts;
}
