import type { Logger } from '../../logger';
import { webhookMessagesUnrouted } from '../../metrics/registry';
import { numbersOf, type BusinessNumber } from '../../numbers/registry';
import type { ChatNumber } from '../../temporal/chat-signals';
import type { InboundMessage } from '../../workflows/definitions';
import type { AppDeps } from '../deps';

/** Messages of one webhook for one business number. */
export interface RoutedMessages {
  number: ChatNumber;
  messages: InboundMessage[];
}

/**
 * Sorts a webhook's messages by the business number they were sent to (issue 13). Messages for a
 * number this deployment does not serve, or has disabled, are acknowledged and never answered:
 * logged and counted (whatsapp_webhook_unrouted_messages_total), so a second number in the same
 * Meta app never gets crossed wires.
 */
export async function routeMessages(
  deps: AppDeps,
  provider: 'meta' | 'twilio',
  messages: InboundMessage[],
  addressedTo: (m: InboundMessage) => string | undefined,
  log: Logger,
  /** Whether the request's signature speaks for this number (Meta: its app's secret); default yes. */
  signedFor: (number: BusinessNumber) => Promise<boolean> = async () => true,
): Promise<{ routed: RoutedMessages[]; refused: number }> {
  const numbers = numbersOf(deps);
  const byNumber = new Map<number, RoutedMessages>();
  let refused = 0;
  for (const m of messages) {
    const to = addressedTo(m);
    const route = await numbers.route(provider, to);
    if (!route.number) {
      refused++;
      webhookMessagesUnrouted.inc({ provider, reason: route.refused });
      log.warn(
        { to, wamid: m.wamid, reason: route.refused, number: route.known?.id },
        `message for ${route.refused} business number ${to ?? '(none)'} not answered`,
      );
      continue;
    }
    if (!(await signedFor(route.number))) {
      refused++;
      webhookMessagesUnrouted.inc({ provider, reason: 'other_app' });
      log.warn({ to, wamid: m.wamid, number: route.number.id }, `message for number ${route.number.id} signed by another app than its own; not answered`);
      continue;
    }
    const entry = byNumber.get(route.number.id) ?? { number: route.number, messages: [] };
    entry.messages.push(m);
    byNumber.set(route.number.id, entry);
  }
  return { routed: [...byNumber.values()], refused };
}
