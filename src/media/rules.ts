/**
 * What WhatsApp takes as outbound media, and how we tell a file's type from its first bytes.
 *
 * The types and sizes are WhatsApp Cloud API's "supported media types" (Meta's media reference):
 * images JPEG and PNG 5 MB; documents (plain text, PDF, Word, Excel, PowerPoint) 100 MB; audio
 * AAC, AMR, MP3, MP4 audio and OGG with Opus only 16 MB; video MP4 and 3GPP 16 MB; stickers WebP
 * 100 KB static, 500 KB animated. Twilio's WhatsApp media (its "Guidance on WhatsApp media
 * messages") is narrower: one message is at most 16 MB, images 5 MB, and of documents only PDF.
 * A megabyte here is 1024 × 1024 bytes.
 */

export type MediaProvider = 'meta' | 'twilio' | 'console';

const KB = 1024;
const MB = 1024 * 1024;

/** What a file's first bytes say it is, as far as cheap checks can tell. */
export type Sniffed =
  | { family: 'jpeg' | 'png' | 'pdf' | 'ole2' | 'zip' | 'mp3' | 'aac' | 'amr' | 'ogg-opus' | 'ogg' | 'gif' | 'text' | 'binary' }
  | { family: 'webp'; animated: boolean }
  | { family: 'isobmff'; brand: string };

interface TypeRule {
  /** WhatsApp's message type for it. */
  kind: 'image' | 'document' | 'audio' | 'video' | 'sticker';
  /** The largest file on Meta's Graph API. */
  maxBytes: number;
  /** Whether the first bytes fit this type. */
  matches: (s: Sniffed) => boolean;
  extensions: string[];
}

const isoMedia = (s: Sniffed) => s.family === 'isobmff';

/** Every type the upload takes, by its canonical MIME type. */
export const MEDIA_TYPES: Record<string, TypeRule> = {
  'image/jpeg': { kind: 'image', maxBytes: 5 * MB, matches: (s) => s.family === 'jpeg', extensions: ['jpg', 'jpeg'] },
  'image/png': { kind: 'image', maxBytes: 5 * MB, matches: (s) => s.family === 'png', extensions: ['png'] },
  // Static stickers 100 KB, animated 500 KB: the larger caps the stream, the first bytes say which applies.
  'image/webp': { kind: 'sticker', maxBytes: 500 * KB, matches: (s) => s.family === 'webp', extensions: ['webp'] },
  'audio/aac': { kind: 'audio', maxBytes: 16 * MB, matches: (s) => s.family === 'aac', extensions: ['aac'] },
  'audio/amr': { kind: 'audio', maxBytes: 16 * MB, matches: (s) => s.family === 'amr', extensions: ['amr'] },
  'audio/mpeg': { kind: 'audio', maxBytes: 16 * MB, matches: (s) => s.family === 'mp3', extensions: ['mp3'] },
  'audio/mp4': { kind: 'audio', maxBytes: 16 * MB, matches: isoMedia, extensions: ['m4a'] },
  // Opus only: WhatsApp does not take OGG Vorbis.
  'audio/ogg': { kind: 'audio', maxBytes: 16 * MB, matches: (s) => s.family === 'ogg-opus', extensions: ['ogg', 'opus'] },
  'video/mp4': { kind: 'video', maxBytes: 16 * MB, matches: isoMedia, extensions: ['mp4'] },
  'video/3gpp': { kind: 'video', maxBytes: 16 * MB, matches: isoMedia, extensions: ['3gp'] },
  'text/plain': { kind: 'document', maxBytes: 100 * MB, matches: (s) => s.family === 'text', extensions: ['txt'] },
  'application/pdf': { kind: 'document', maxBytes: 100 * MB, matches: (s) => s.family === 'pdf', extensions: ['pdf'] },
  // The Office formats share a container each (OLE2 before 2007, zip after); the container is what is checked.
  'application/msword': { kind: 'document', maxBytes: 100 * MB, matches: (s) => s.family === 'ole2', extensions: ['doc'] },
  'application/vnd.ms-excel': { kind: 'document', maxBytes: 100 * MB, matches: (s) => s.family === 'ole2', extensions: ['xls'] },
  'application/vnd.ms-powerpoint': { kind: 'document', maxBytes: 100 * MB, matches: (s) => s.family === 'ole2', extensions: ['ppt'] },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': {
    kind: 'document',
    maxBytes: 100 * MB,
    matches: (s) => s.family === 'zip',
    extensions: ['docx'],
  },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': {
    kind: 'document',
    maxBytes: 100 * MB,
    matches: (s) => s.family === 'zip',
    extensions: ['xlsx'],
  },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': {
    kind: 'document',
    maxBytes: 100 * MB,
    matches: (s) => s.family === 'zip',
    extensions: ['pptx'],
  },
};

const STATIC_STICKER_MAX = 100 * KB;

/** Twilio: 16 MB a message, images 5 MB, and of documents PDF only. */
const TWILIO_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'audio/aac', 'audio/amr', 'audio/mpeg', 'audio/ogg', 'video/mp4', 'application/pdf']);
const TWILIO_MAX = 16 * MB;

/** Other names clients use for the same types. */
const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'audio/mp3': 'audio/mpeg',
  'audio/x-m4a': 'audio/mp4',
  'audio/m4a': 'audio/mp4',
  'audio/opus': 'audio/ogg',
  'audio/x-aac': 'audio/aac',
  'video/3gp': 'video/3gpp',
};

/** Labels that say nothing about the type: the bytes and the file name decide. */
const UNTYPED = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown']);

/** The types a provider takes, for error messages and the docs. */
export function supportedTypes(provider: MediaProvider): string[] {
  return Object.keys(MEDIA_TYPES).filter((t) => provider !== 'twilio' || TWILIO_TYPES.has(t));
}

/** The canonical MIME type for a declared one (parameters dropped, aliases mapped), '' when it names no type. */
export function canonicalType(declared: string | undefined): string {
  const bare = (declared ?? '').split(';')[0]!.trim().toLowerCase();
  if (UNTYPED.has(bare)) return '';
  return ALIASES[bare] ?? bare;
}

/** The largest file of this type the provider takes; undefined when it does not take the type. */
export function maxBytesFor(mimeType: string, provider: MediaProvider): number | undefined {
  const rule = MEDIA_TYPES[mimeType];
  if (!rule) return undefined;
  if (provider !== 'twilio') return rule.maxBytes;
  if (!TWILIO_TYPES.has(mimeType)) return undefined;
  return Math.min(rule.maxBytes, TWILIO_MAX);
}

/** How many first bytes sniff() wants (fewer when the file is shorter). */
export const SNIFF_BYTES = 4096;

const ascii = (b: Buffer, at: number, text: string) => b.length >= at + text.length && b.toString('latin1', at, at + text.length) === text;

/** What the first bytes of a file are. Only the checks WhatsApp's types need; anything else is 'binary' or 'text'. */
export function sniff(head: Buffer): Sniffed {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return { family: 'jpeg' };
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return { family: 'png' };
  if (ascii(head, 0, 'GIF8')) return { family: 'gif' };
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP')) {
    // An extended WebP (VP8X) carries an animation flag; the simple ones are stills.
    const animated = ascii(head, 12, 'VP8X') && head.length > 20 && (head[20]! & 0x02) !== 0;
    return { family: 'webp', animated };
  }
  if (ascii(head, 0, '%PDF-')) return { family: 'pdf' };
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))) return { family: 'ole2' };
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return { family: 'zip' };
  if (ascii(head, 4, 'ftyp')) return { family: 'isobmff', brand: head.toString('latin1', 8, 12) };
  if (ascii(head, 0, '#!AMR')) return { family: 'amr' };
  // The first Ogg page of an Opus stream carries its OpusHead header.
  if (ascii(head, 0, 'OggS')) return { family: ascii(head, 28, 'OpusHead') ? 'ogg-opus' : 'ogg' };
  if (ascii(head, 0, 'ID3')) return { family: 'mp3' };
  if (ascii(head, 0, 'ADIF')) return { family: 'aac' };
  if (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xe0) === 0xe0) {
    // An MPEG audio frame: layer bits 00 is AAC in ADTS framing, anything else MP1/2/3.
    return { family: (head[1]! & 0x06) === 0 ? 'aac' : 'mp3' };
  }
  return looksLikeText(head) ? { family: 'text' } : { family: 'binary' };
}

/** UTF-8 (or ASCII) text without NUL or other control bytes than tab, line breaks and form feed. */
function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return false;
  for (const byte of head) {
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c && byte !== 0x1b) return false;
  }
  // The head may end inside a multi-byte character: drop up to 3 trailing bytes before decoding.
  for (let cut = 0; cut <= 3 && cut < head.length; cut++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, head.length - cut));
      return true;
    } catch {
      // try one byte shorter
    }
  }
  return false;
}

function describe(s: Sniffed): string {
  switch (s.family) {
    case 'isobmff':
      return `an MP4/3GPP container (brand "${s.brand.trim()}")`;
    case 'webp':
      return s.animated ? 'an animated WebP' : 'a WebP image';
    case 'ogg':
      return 'OGG audio that is not Opus';
    case 'ogg-opus':
      return 'OGG Opus audio';
    case 'ole2':
      return 'an Office 97-2003 document';
    case 'zip':
      return 'a zip archive (or an Office document)';
    case 'binary':
      return 'a binary file of a type WhatsApp does not take';
    default:
      return s.family.toUpperCase();
  }
}

/** The type of an untyped upload from its bytes, with the file name deciding what the bytes cannot. */
function typeFromBytes(s: Sniffed, filename: string | undefined): string | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(filename ?? '')?.[1]?.toLowerCase();
  const byExtension = ext ? Object.entries(MEDIA_TYPES).find(([, rule]) => rule.extensions.includes(ext))?.[0] : undefined;
  switch (s.family) {
    case 'jpeg':
      return 'image/jpeg';
    case 'png':
      return 'image/png';
    case 'webp':
      return 'image/webp';
    case 'pdf':
      return 'application/pdf';
    case 'mp3':
      return 'audio/mpeg';
    case 'aac':
      return 'audio/aac';
    case 'amr':
      return 'audio/amr';
    case 'ogg-opus':
      return 'audio/ogg';
    case 'isobmff':
      if (byExtension && MEDIA_TYPES[byExtension]!.matches(s)) return byExtension;
      if (s.brand.startsWith('3g')) return 'video/3gpp';
      return /^M4[AB] $/.test(s.brand) ? 'audio/mp4' : 'video/mp4';
    case 'ole2':
    case 'zip':
    case 'text':
      // Which Office format, or whether text is a .txt document, only the name says.
      return byExtension && MEDIA_TYPES[byExtension]!.matches(s) ? byExtension : undefined;
    default:
      return undefined;
  }
}

export type TypeDecision = { ok: true; mimeType: string; maxBytes: number } | { ok: false; status: 415; message: string; details: Record<string, unknown> };

/**
 * The upload's type from what the client declared and what its first bytes are. A declared type
 * must be one the provider takes and the bytes must fit it (a "PNG" that is not one is refused);
 * an untyped upload (application/octet-stream) is typed by its bytes and file name.
 */
export function decideType(declared: string | undefined, head: Buffer, filename: string | undefined, provider: MediaProvider): TypeDecision {
  const s = sniff(head);
  // busboy labels a file part that has no Content-Type text/plain: bytes that are not text are then typed by what they are.
  const given = canonicalType(declared) === 'text/plain' && s.family !== 'text' ? '' : canonicalType(declared);
  const supported = supportedTypes(provider);
  const refuse = (message: string, extra: Record<string, unknown> = {}): TypeDecision => ({
    ok: false,
    status: 415,
    message,
    details: { declared: declared ?? null, detected: describe(s), supported, ...extra },
  });
  const mimeType = given || typeFromBytes(s, filename);
  if (!mimeType) return refuse(`The file is ${describe(s)}, which WhatsApp does not take as media (or give its type)`);
  let maxBytes = maxBytesFor(mimeType, provider);
  if (maxBytes === undefined) {
    return refuse(
      provider === 'twilio' && MEDIA_TYPES[mimeType]
        ? `${mimeType} is not sent through Twilio's WhatsApp channel`
        : `${mimeType} is not a media type WhatsApp takes`,
    );
  }
  if (!MEDIA_TYPES[mimeType]!.matches(s)) return refuse(`The file claims to be ${mimeType} but its bytes are ${describe(s)}`);
  if (s.family === 'webp' && !s.animated) maxBytes = Math.min(maxBytes, STATIC_STICKER_MAX);
  return { ok: true, mimeType, maxBytes };
}

/** The WhatsApp message kind of a stored type. */
export const kindOf = (mimeType: string) => MEDIA_TYPES[mimeType]?.kind ?? 'document';
