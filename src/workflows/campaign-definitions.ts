/**
 * The campaign workflow's contract, shared by the workflow, the API and tests (no side effects).
 * A run sends one campaign to its audience; runs are started by the campaign's Schedule.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const CAMPAIGN_WORKFLOW_TYPE = 'campaignWorkflow';

/** Fixed per campaign (SPEC §4): created or updated idempotently, visible in the Web UI. */
export function campaignScheduleId(campaignId: number): string {
  return `campaign-${campaignId}`;
}

/** The Schedule appends the fire time to this, so every run has its own id under the same prefix. */
export function campaignWorkflowIdPrefix(campaignId: number): string {
  return `campaign-${campaignId}`;
}

export const DEFAULT_SEND_RATE = 20;
/** WhatsApp Cloud API's per-number throughput ceiling (messages per second). */
export const MAX_SEND_RATE = 80;

export interface CampaignCounts {
  sent: number;
  failed: number;
  unconfirmed: number;
}

/** What continue-as-new carries into the next run of the same campaign send. */
export interface CampaignRunState {
  total: number;
  ratePerSecond: number;
  /** Audience is walked in contact id order; everything at or below this was handled. */
  cursor: number;
  /** Epoch ms the next send is due, so the rate holds across batches and continue-as-new. */
  nextSendAt?: number;
  /** Send times of the last second, so the next page respects the per-second ceiling too. */
  recentSends?: number[];
  startedAt: number;
  paused: boolean;
  batches: number;
  counts: CampaignCounts;
  /** Rounds of re-sending unconfirmed recipients done so far (bounded). */
  confirmRounds?: number;
  /** The audience has been walked once; what is left is confirming the sends in doubt. */
  audienceDone?: boolean;
}

export interface CampaignWorkflowInput {
  campaignId: number;
  carried?: CampaignRunState;
}

export type CampaignEnding = 'finished' | 'stopped' | 'completed' | 'not_started';

export interface CampaignWorkflowResult {
  campaignId: number;
  ending: CampaignEnding;
  reason?: string;
  counts: CampaignCounts;
}

export type CampaignRunPhase = 'starting' | 'sending' | 'paused' | 'confirming' | 'stopping' | 'finished';

export interface CampaignProgressView extends CampaignCounts {
  campaignId: number;
  phase: CampaignRunPhase;
  total: number;
  /** Recipients handled so far (sent, failed or unconfirmed). */
  processed: number;
  ratePerSecond: number;
  startedAt?: string;
  batches: number;
}

export const pauseCampaignSignal = defineSignal('pauseCampaign');
export const resumeCampaignSignal = defineSignal('resumeCampaign');
/** Stop: end this run now; the campaign can be started again and continues with whoever is left. */
export const stopCampaignSignal = defineSignal('stopCampaign');
/** Complete: end this run now and close the campaign for good (its Schedule is removed). */
export const completeCampaignSignal = defineSignal('completeCampaign');
export const campaignProgressQuery = defineQuery<CampaignProgressView>('campaignProgress');
