/**
 * One run of a campaign: walks the audience in pages, each page an activity that sends at the
 * campaign's rate. Signals pause, resume, stop and complete it; the query shows progress live.
 * Everything a later run needs (cursor, pace, counts, pause) is carried through continue-as-new.
 * Sending twice is prevented in Postgres (one recipient row per campaign and contact), not here,
 * so a batch retried after a worker died cannot repeat anyone.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  campaignProgressQuery,
  completeCampaignSignal,
  pauseCampaignSignal,
  resumeCampaignSignal,
  stopCampaignSignal,
  type CampaignEnding,
  type CampaignRunPhase,
  type CampaignRunState,
  type CampaignWorkflowInput,
  type CampaignWorkflowResult,
} from './campaign-definitions';
import { campaignIdKey } from './search-attributes';

const { loadChatSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });

const { beginCampaignRun, setCampaignStatus, finishCampaignRun, readCampaignCounts } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

// A batch is a few seconds of sends. The heartbeat timeout is how fast a dead worker's batch is
// picked up elsewhere; retries are unbounded because WhatsApp or Postgres being down should
// stall the campaign, not lose it.
const { sendCampaignBatch } = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '5s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** Seconds of sending per batch: short enough that pause and stop take effect within it. */
const BATCH_SECONDS = 2;
/** Re-send rounds for sends a crash left in doubt; after these they stay unconfirmed on record. */
const MAX_CONFIRM_ROUNDS = 3;

export function batchSize(ratePerSecond: number): number {
  return Math.min(200, Math.max(10, Math.round(ratePerSecond * BATCH_SECONDS)));
}

export async function campaignWorkflow({ campaignId, carried }: CampaignWorkflowInput): Promise<CampaignWorkflowResult> {
  const { campaignConfirmGraceMs: graceMs, campaignContinueAsNewAfterEvents } = await loadChatSettings();
  upsertSearchAttributes([{ key: campaignIdKey, value: String(campaignId) }]);
  let phase: CampaignRunPhase = carried ? 'sending' : 'starting';
  let run: CampaignRunState | undefined = carried;
  let paused = carried?.paused ?? false;
  let ending: 'stopped' | 'completed' | undefined;

  setHandler(pauseCampaignSignal, () => void (paused = true));
  setHandler(resumeCampaignSignal, () => void (paused = false));
  setHandler(stopCampaignSignal, () => void (ending ??= 'stopped'));
  setHandler(completeCampaignSignal, () => void (ending ??= 'completed'));
  setHandler(campaignProgressQuery, () => {
    const counts = run?.counts ?? { sent: 0, failed: 0, unconfirmed: 0 };
    return {
      campaignId,
      phase: ending && phase !== 'finished' ? 'stopping' : phase,
      total: run?.total ?? 0,
      ...counts,
      processed: counts.sent + counts.failed + counts.unconfirmed,
      ratePerSecond: run?.ratePerSecond ?? 0,
      startedAt: run ? new Date(run.startedAt).toISOString() : undefined,
      batches: run?.batches ?? 0,
    };
  });

  const finish = async (how: CampaignEnding, reason?: string): Promise<CampaignWorkflowResult> => {
    phase = 'finished';
    await finishCampaignRun({ campaignId, ending: how, reason });
    return { campaignId, ending: how, reason, counts: run?.counts ?? { sent: 0, failed: 0, unconfirmed: 0 } };
  };

  if (!run) {
    const begun = await beginCampaignRun({ campaignId, workflowId: workflowInfo().workflowId });
    if (!begun.ok) {
      log.warn('campaign not started', { campaignId, reason: begun.reason });
      return finish('not_started', begun.reason);
    }
    run = {
      total: begun.total,
      ratePerSecond: begun.ratePerSecond,
      cursor: 0,
      startedAt: Date.now(),
      paused: false,
      batches: 0,
      counts: begun.counts,
    };
  }
  phase = 'sending';

  for (;;) {
    if (ending) return finish(ending);
    if (paused) {
      phase = 'paused';
      await setCampaignStatus({ campaignId, status: 'paused' });
      await condition(() => !paused || ending !== undefined);
      if (ending) return finish(ending);
      phase = 'sending';
      // The pace starts afresh after a pause rather than catching up.
      run.nextSendAt = undefined;
      await setCampaignStatus({ campaignId, status: 'running' });
    }
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength >= campaignContinueAsNewAfterEvents) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof campaignWorkflow>({ campaignId, carried: { ...run, paused } });
    }
    if (!run.audienceDone) {
      const batch = await sendCampaignBatch({
        campaignId,
        afterContactId: run.cursor,
        limit: batchSize(run.ratePerSecond),
        ratePerSecond: run.ratePerSecond,
        notBefore: run.nextSendAt,
        recentSends: run.recentSends,
      });
      run.cursor = batch.lastContactId;
      run.nextSendAt = batch.nextSendAt;
      run.recentSends = batch.recentSends;
      run.counts = batch.counts;
      run.batches++;
      run.audienceDone = batch.exhausted;
      continue;
    }
    if (run.counts.unconfirmed === 0 || (run.confirmRounds ?? 0) >= MAX_CONFIRM_ROUNDS) return finish(ending ?? 'finished');
    await confirmOrResend(run);
  }

  /**
   * Sends a crash left in doubt (WhatsApp may or may not have taken them) are settled by Meta's
   * receipt, which carries our key. Whatever is still unconfirmed after the grace period never
   * reached WhatsApp, and is sent again, once.
   */
  async function confirmOrResend(state: CampaignRunState): Promise<void> {
    phase = 'confirming';
    const step = Math.max(1000, Math.min(30_000, Math.floor(graceMs / 5)));
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && state.counts.unconfirmed > 0) {
      if (await condition(() => ending !== undefined, Math.min(step, deadline - Date.now()))) return;
      state.counts = await readCampaignCounts({ campaignId });
    }
    if (state.counts.unconfirmed === 0) return;
    state.confirmRounds = (state.confirmRounds ?? 0) + 1;
    phase = 'sending';
    for (let cursor = 0; ending === undefined;) {
      const batch = await sendCampaignBatch({
        campaignId,
        afterContactId: cursor,
        limit: batchSize(state.ratePerSecond),
        ratePerSecond: state.ratePerSecond,
        unconfirmedOnly: true,
      });
      cursor = batch.lastContactId;
      state.counts = batch.counts;
      if (batch.exhausted) return;
    }
  }
}
