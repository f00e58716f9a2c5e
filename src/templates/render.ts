/**
 * Template bodies with `{{name}}` / `{{1}}` placeholders (Meta's named and positional styles).
 * Pure and dependency-free: the API previews with it and the campaign sender fills sends with it.
 */

export type TemplateValue = string | number | boolean | null | undefined;
export type TemplateValues = Record<string, TemplateValue>;

// A fresh RegExp per call: a shared /g regex carries lastIndex between callers.
const placeholder = () => /\{\{\s*([A-Za-z_][A-Za-z0-9_]*|\d+)\s*\}\}/g;

/** Variable names in order of first appearance, each once. */
export function templateVariables(body: string): string[] {
  const names = new Set<string>();
  for (const m of body.matchAll(placeholder())) names.add(m[1]!);
  return [...names];
}

export class TemplateRenderError extends Error {
  constructor(readonly missing: string[]) {
    super(`Missing template variables: ${missing.join(', ')}`);
    this.name = 'TemplateRenderError';
  }
}

/** The value as sent, or undefined when WhatsApp would reject it (absent, null, blank). */
function valueOf(values: TemplateValues, name: string): string | undefined {
  // Own keys only, so a variable named "constructor" is not found on Object.prototype.
  const raw = Object.hasOwn(values, name) ? values[name] : undefined;
  if (raw === null || raw === undefined) return undefined;
  const text = String(raw);
  return text.trim() === '' ? undefined : text;
}

/**
 * Every variable's value, in the order Meta expects: named ones by first appearance, positional
 * ones ({{1}}, {{2}}) by number, whatever order the body uses them in. Throws listing all missing.
 */
export function templateParameters(body: string, variables: TemplateValues): { name: string; value: string }[] {
  const params: { name: string; value: string }[] = [];
  const missing: string[] = [];
  const names = templateVariables(body);
  const positional = names.every((n) => /^\d+$/.test(n));
  for (const name of positional ? names.sort((a, b) => Number(a) - Number(b)) : names) {
    const value = valueOf(variables, name);
    if (value === undefined) missing.push(name);
    else params.push({ name, value });
  }
  if (missing.length > 0) throw new TemplateRenderError(missing);
  return params;
}

/** The body with every placeholder replaced; throws TemplateRenderError when any value is missing. */
export function renderTemplate(body: string, variables: TemplateValues): string {
  const values = new Map(templateParameters(body, variables).map((p) => [p.name, p.value]));
  // A replacer function, so "$&" or "$1" inside a value is inserted literally.
  return body.replace(placeholder(), (_m, name: string) => values.get(name)!);
}
