import type { MediaInfo } from '../workflows/definitions';

export type OutboundContent = { kind: 'text'; text: string } | { kind: 'media'; media: MediaInfo };

export interface SendResult {
  wamid: string;
}

/** A way to put a message in front of a WhatsApp user. */
export interface WhatsAppSender {
  readonly provider: string;
  send(to: string, content: OutboundContent): Promise<SendResult>;
}

/** What went wrong at the provider, classified so activities know whether a retry can help. */
export class SendError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly code?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'SendError';
  }
}

/** WhatsApp media kind from a MIME type; Graph needs the kind as the message type. */
export function mediaKind(mimeType: string | undefined): 'image' | 'audio' | 'video' | 'document' | 'sticker' {
  if (!mimeType) return 'document';
  if (mimeType === 'image/webp') return 'sticker';
  if (mimeType.startsWith('image/')) return 'image';
  if (mimeType.startsWith('audio/')) return 'audio';
  if (mimeType.startsWith('video/')) return 'video';
  return 'document';
}
