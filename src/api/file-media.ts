import { mediaKind } from '../channels/types';
import { resolveFile, type MediaSettings } from '../media/files';
import { canonicalType } from '../media/rules';
import type { AppDeps } from './deps';
import { HttpError } from './errors';

/** The deployment's media settings; without any (tests, local runs) files stay on the console provider. */
export const mediaSettingsOf = (deps: AppDeps): MediaSettings => deps.media ?? { provider: 'console' };

/**
 * An operator message's `media: {file_id}` as the chat sends it: the provider's media id (Meta)
 * or our link (Twilio), with the stored type, and the stored name and caption unless the message
 * gives its own. Resolved before the chat is asked, so a retried send sends this same reference.
 */
export async function mediaOfFile(
  deps: AppDeps,
  media: { file_id?: string; mimeType?: string; caption?: string; filename?: string },
  text: string | undefined,
): Promise<{ id?: string; link?: string; mimeType: string; caption?: string; filename?: string }> {
  const file = await resolveFile(deps.db, mediaSettingsOf(deps), media.file_id!);
  if (media.mimeType && canonicalType(media.mimeType) !== file.mimeType) {
    throw new HttpError('VALIDATION_ERROR', `media.mimeType: file ${media.file_id} is ${file.mimeType}; leave mimeType out`, [
      { field: 'media.mimeType', reason: `the file is ${file.mimeType}` },
    ]);
  }
  const kind = mediaKind(file.mimeType);
  if (text && (kind === 'audio' || kind === 'sticker')) {
    throw new HttpError('VALIDATION_ERROR', `message: WhatsApp cannot put text on ${kind}; send the message separately`, [
      { field: 'message', reason: `no text on ${kind}` },
    ]);
  }
  const caption = media.caption ?? file.caption;
  const filename = media.filename ?? file.filename;
  return {
    ...(file.id ? { id: file.id } : { link: file.link }),
    mimeType: file.mimeType,
    ...(caption ? { caption } : {}),
    ...(filename ? { filename } : {}),
  };
}
