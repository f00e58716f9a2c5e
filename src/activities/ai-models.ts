import { ApplicationFailure } from '@temporalio/activity';
import { modelForSnapshot, usesEnvironmentEndpoint } from '../ai/model';
import { getAiConfigurationVersion } from '../db/ai-configurations';
import type { ChatModel } from '../llm/chat-model';
import { isOfflineResponder, OFFLINE_MODEL } from '../llm/offline-responder';
import type { ActivityDeps } from './index';

/**
 * Postgres did not give the version: retried like any write, and never counted as the model
 * failing (which would end in the fallback reply).
 */
export class AiConfigurationUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AiConfigurationUnavailable';
  }
}

/** Built models kept per version: a version never changes, so neither does its model. */
const MAX_CACHED = 200;

/**
 * The model each AI configuration version describes (issue 13), built once per worker. A reply
 * always uses the version its chat recorded for the burst, so a retry after the configuration
 * changed still answers as the first attempt would have.
 */
export function createAiModels(deps: Pick<ActivityDeps, 'db'> & Partial<Pick<ActivityDeps, 'secrets' | 'aiDefaults' | 'llm'>>) {
  const cache = new Map<string, { model: Pick<ChatModel, 'reply'>; name: string }>();
  return {
    async forVersion(id: number, version: number): Promise<{ model: Pick<ChatModel, 'reply'>; name: string }> {
      const key = `${id}:${version}`;
      const hit = cache.get(key);
      if (hit) return hit;
      if (!deps.aiDefaults) throw ApplicationFailure.nonRetryable('this worker has no AI settings to build configurations on', 'LlmNotConfigured');
      let snapshot;
      try {
        snapshot = await getAiConfigurationVersion(deps.db, id, version);
      } catch (err) {
        throw new AiConfigurationUnavailable(`AI configuration ${id} version ${version} could not be read: ${(err as Error).message}`);
      }
      // Versions are never deleted (a deleted configuration keeps them), so this is a broken database.
      if (!snapshot) throw ApplicationFailure.nonRetryable(`AI configuration ${id} version ${version} does not exist`, 'LlmNotConfigured');
      let model: ChatModel;
      try {
        model = modelForSnapshot(snapshot, deps.aiDefaults, deps.secrets);
      } catch (err) {
        // Its key cannot be read here (CREDENTIALS_ENCRYPTION_KEY missing or another): no retry helps.
        throw ApplicationFailure.nonRetryable(`AI configuration ${id} version ${version}: ${(err as Error).message}`, 'LlmNotConfigured');
      }
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      // No key anywhere (a local run): the worker's offline responder answers, as without configurations.
      const offline =
        !snapshot.apiKeyEncrypted && usesEnvironmentEndpoint(snapshot, deps.aiDefaults) && !deps.aiDefaults.apiKey && deps.llm && isOfflineResponder(deps.llm);
      const built = offline ? { model: deps.llm!, name: OFFLINE_MODEL } : { model, name: snapshot.model };
      cache.set(key, built);
      return built;
    },
  };
}
