import type { SseEvent } from './sse';

interface ConversationData {
  mode: 'bot' | 'operator';
  needs_human: boolean;
  operator: string | null;
}

interface MessageData {
  id: string;
  sender_type: 'user' | 'bot' | 'operator' | 'campaign';
  message_type: string;
  content: string;
  metadata: { operator?: string } | null;
  delivery_status: string;
  error: { message?: string } | null;
}

/** Turns the conversation's event stream into what the WhatsApp user would see, one line each. */
export class ChatPrinter {
  private state?: ConversationData;
  private readonly shown = new Set<string>();

  constructor(private readonly print: (line: string) => void) {}

  handle(e: SseEvent): void {
    if (e.event === 'conversation') this.conversation(JSON.parse(e.data) as ConversationData);
    else if (e.event === 'message') this.message(JSON.parse(e.data) as MessageData);
    else if (e.event === 'message_update') this.update(JSON.parse(e.data) as MessageData);
  }

  private conversation(c: ConversationData): void {
    const before = this.state;
    this.state = c;
    const operator = c.operator ? `an operator (${c.operator})` : 'an operator';
    if (!before) {
      if (c.mode === 'operator') this.print(`— ${operator} is handling this chat —`);
      return;
    }
    if (before.mode === 'bot' && c.mode === 'operator') this.print(`— ${operator} took over —`);
    else if (before.mode === 'operator' && c.mode === 'bot') this.print('— handed back to the bot —');
    if (!before.needs_human && c.needs_human && c.mode === 'bot') this.print('— the assistant asked for a human —');
  }

  private message(m: MessageData): void {
    // What the user typed is already on screen; a resumed stream may repeat a message.
    if (m.sender_type === 'user' || this.shown.has(m.id)) return;
    this.shown.add(m.id);
    const who = m.sender_type === 'operator' ? `operator${m.metadata?.operator ? ` (${m.metadata.operator})` : ''}` : m.sender_type;
    const body = m.message_type === 'text' ? m.content : `[${m.message_type}]${m.content ? ` ${m.content}` : ''}`;
    this.print(`${who}: ${body}`);
  }

  private update(m: MessageData): void {
    if (m.delivery_status === 'failed' && this.shown.has(m.id)) {
      this.print(`(that ${m.sender_type} message was not delivered${m.error?.message ? `: ${m.error.message}` : ''})`);
    }
  }
}
