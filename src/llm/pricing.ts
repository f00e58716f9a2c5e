/** USD per million tokens, prompt (input) and completion (output). */
export interface ModelPrice {
  input: number;
  output: number;
}

export type PriceTable = ReadonlyMap<string, ModelPrice>;

/**
 * OpenAI list prices (standard tier, USD per 1M tokens) at the time of writing (2025). They
 * change: set LLM_PRICES to correct one or to price a model not listed here (OpenRouter, Ollama,
 * a fine-tune). Cached-input discounts are not modelled, so cost is an upper bound.
 */
const BUILT_IN: Record<string, ModelPrice> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  o3: { input: 2, output: 8 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
};

const PRICE = /^\d+(\.\d+)?$/;

/**
 * Parses LLM_PRICES: `model=input:output` pairs, comma separated, USD per million tokens, e.g.
 * `gpt-4o-mini=0.15:0.60,llama3:8b=0:0`. The model is everything before the last `=` (Ollama
 * names contain colons). Throws an Error naming the bad entry.
 */
export function parseLlmPrices(raw: string | undefined): Map<string, ModelPrice> {
  const prices = new Map<string, ModelPrice>();
  if (!raw?.trim()) return prices;
  for (const [i, entry] of raw.split(',').entries()) {
    const at = entry.lastIndexOf('=');
    const model = entry.slice(0, Math.max(at, 0)).trim().toLowerCase();
    const [input, output, extra] = entry
      .slice(at + 1)
      .split(':')
      .map((p) => p.trim());
    const where = `entry ${i + 1} ("${entry.trim()}")`;
    if (at <= 0 || !model || input === undefined || output === undefined || extra !== undefined) {
      throw new Error(`${where} must look like model=input:output (USD per million tokens), e.g. gpt-4o-mini=0.15:0.60`);
    }
    if (!PRICE.test(input) || !PRICE.test(output)) {
      throw new Error(`${where}: prices must be non-negative decimal numbers of USD per million tokens`);
    }
    if (prices.has(model)) throw new Error(`${where}: model "${model}" is priced twice`);
    prices.set(model, { input: Number(input), output: Number(output) });
  }
  return prices;
}

/** The built-in list with LLM_PRICES on top (an entry there wins). */
export function priceTable(raw?: string): PriceTable {
  return new Map([...Object.entries(BUILT_IN), ...parseLlmPrices(raw)]);
}

/**
 * The price of a model as the provider named it: exactly, else without a dated snapshot suffix
 * (OpenAI answers `gpt-4o-mini-2024-07-18` for `gpt-4o-mini`), else without a provider prefix
 * (OpenRouter's `openai/gpt-4o-mini`). Unknown: undefined, and its cost is reported as null.
 */
export function priceOf(table: PriceTable, model: string): ModelPrice | undefined {
  const name = model.trim().toLowerCase();
  const undated = name.replace(/-\d{4}-\d{2}-\d{2}$/, '');
  const candidates = [name, undated, name.slice(name.lastIndexOf('/') + 1), undated.slice(undated.lastIndexOf('/') + 1)];
  for (const c of candidates) {
    const price = table.get(c);
    if (price) return price;
  }
  return undefined;
}

/** USD, to a millionth of a cent. */
export function costUsd(price: ModelPrice, promptTokens: number, completionTokens: number): number {
  return Math.round((promptTokens * price.input + completionTokens * price.output) * 100) / 1e8;
}
