import { readFileSync } from 'node:fs';
import { DEFAULT_SYSTEM_PROMPT } from './chat-model';

export function loadSystemPrompt(file: string | undefined): string {
  if (!file) return DEFAULT_SYSTEM_PROMPT;
  const text = readFileSync(file, 'utf8').trim();
  if (!text) throw new Error(`LLM_SYSTEM_PROMPT_FILE ${file} is empty`);
  return text;
}
