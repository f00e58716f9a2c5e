import type { MediaInfo } from '../workflows/definitions';

/** An approved template with its body parameters in order (named ones carry their name). */
export interface TemplateContent {
  name: string;
  language: string;
  parameters: { name: string; value: string }[];
  /** The rendered body, for the record and for providers that send plain text. */
  text: string;
}

export type OutboundContent = { kind: 'text'; text: string } | { kind: 'media'; media: MediaInfo } | { kind: 'template'; template: TemplateContent };

export interface SendOptions {
  /** Echoed back by Meta in status webhooks (biz_opaque_callback_data): ties a receipt to our send. */
  callbackData?: string;
}

export interface SendResult {
  wamid: string;
}

/** A way to put a message in front of a WhatsApp user. */
export interface WhatsAppSender {
  readonly provider: string;
  send(to: string, content: OutboundContent, options?: SendOptions): Promise<SendResult>;
}

/** A file to upload, read from disk as it is sent (up to WhatsApp's 100 MB documents). */
export interface MediaUploadFile {
  path: string;
  mimeType: string;
  size: number;
  filename: string;
}

/** A provider that keeps uploaded media and hands back an id to send it by (Meta's Graph API). */
export interface MediaUploader {
  readonly provider: string;
  uploadMedia(file: MediaUploadFile): Promise<{ id: string }>;
}

/** What went wrong at the provider, classified so activities know whether a retry can help. */
export class SendError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly code?: number,
    readonly retryAfterMs?: number,
    /** The request may have reached the provider (e.g. a timeout after sending): it may have gone out. */
    readonly ambiguous = false,
  ) {
    super(message);
    this.name = 'SendError';
  }
}

// The kind is decided in the workflow contract, so the chat's context and the providers agree.
export { mediaKind } from '../workflows/definitions';
