/**
 * The minimal chat actor: what any Temporal chat with a debounce must do, and nothing more. Started
 * by signal-with-start with the first message; keeps the pending messages; one debounce timer
 * (quiet for debounceMs, capped at maxWaitMs from the burst's first message, as the product's
 * burstDeadline); then ONE activity that asks the LLM and sends its answer; then waits again.
 * No database, no recording, no search attribute upserts, no continue-as-new (bench chats are short).
 */
import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { FloorActivities } from './floor-activities';
import { floorMessageSignal, type FloorChatInput } from './floor-definitions';

// Bounded retries like the product's LLM call; the bench's fakes never fail, so none are expected.
const { answerBurst } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '70s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 4 },
});

export async function floorChatWorkflow({ waId, debounceMs, maxWaitMs }: FloorChatInput): Promise<void> {
  const pending: { text: string; receivedAt: number }[] = [];
  let arrivals = 0;
  setHandler(floorMessageSignal, ({ text }) => {
    pending.push({ text, receivedAt: Date.now() });
    arrivals++;
  });
  for (;;) {
    await condition(() => pending.length > 0);
    // The updatable-timer shape: each new signal restarts the wait for the (new) deadline.
    for (;;) {
      const deadline = Math.min(pending[pending.length - 1]!.receivedAt + debounceMs, pending[0]!.receivedAt + maxWaitMs);
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const seen = arrivals;
      await condition(() => arrivals !== seen, remaining);
    }
    // Messages arriving during the activity stay pending and start the next burst.
    const burst = pending.splice(0);
    await answerBurst({ waId, texts: burst.map((m) => m.text) });
  }
}
