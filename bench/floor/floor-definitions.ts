/**
 * The minimal chat actor's contract (issue 14, "measure the floor first"), shared by its workflow,
 * its worker and the bench's client; free of side effects so the workflow bundle can import it.
 */
import { defineSignal } from '@temporalio/workflow';

/** Its own task queue, so the floor worker never takes the product's tasks (nor they its). */
export const FLOOR_TASK_QUEUE = 'bench-floor';
export const FLOOR_WORKFLOW_TYPE = 'floorChatWorkflow';

export interface FloorChatInput {
  waId: string;
  /** The product bench's DEBOUNCE_MS and DEBOUNCE_MAX_WAIT_MS, passed in: workflows read no env. */
  debounceMs: number;
  maxWaitMs: number;
}

export interface FloorMessage {
  text: string;
}

export interface FloorAnswerInput {
  waId: string;
  /** The burst's texts, oldest first. */
  texts: string[];
}

export const floorMessageSignal = defineSignal<[FloorMessage]>('floorMessage');

/** Distinct from chatWorkflowId: the same wa_id may have a product chat and a floor chat. */
export const floorWorkflowId = (waId: string) => `floor-chat-${waId}`;
