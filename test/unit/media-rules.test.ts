import { canonicalType, decideType, maxBytesFor, sniff, supportedTypes } from '../../src/media/rules';

const KB = 1024;
const MB = 1024 * 1024;
const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const pad = (b: Buffer, n = 64) => Buffer.concat([b, Buffer.alloc(Math.max(0, n - b.length), 0x41)]);

const PNG = pad(bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
const JPEG = pad(bytes([0xff, 0xd8, 0xff, 0xe1]));
const PDF = pad(bytes('%PDF-1.7\n'));
const OLE2 = pad(bytes([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]));
const ZIP = pad(bytes([0x50, 0x4b, 0x03, 0x04]));
const mp4 = (brand: string) => pad(bytes([0, 0, 0, 0x20], 'ftyp', brand, [0, 0, 0, 0]));
const OPUS = pad(bytes('OggS', Array(24).fill(0), 'OpusHead'));
const VORBIS = pad(bytes('OggS', Array(24).fill(0), '\u0001vorbis'));
const webp = (animated: boolean) => pad(bytes('RIFF', [0, 0, 0, 0], 'WEBP', animated ? 'VP8X' : 'VP8 ', [10, 0, 0, 0], [animated ? 0x02 : 0]));

describe('sniff', () => {
  it('knows the signatures of the types WhatsApp takes', () => {
    expect(sniff(PNG)).toEqual({ family: 'png' });
    expect(sniff(JPEG)).toEqual({ family: 'jpeg' });
    expect(sniff(PDF)).toEqual({ family: 'pdf' });
    expect(sniff(OLE2)).toEqual({ family: 'ole2' });
    expect(sniff(ZIP)).toEqual({ family: 'zip' });
    expect(sniff(mp4('isom'))).toEqual({ family: 'isobmff', brand: 'isom' });
    expect(sniff(OPUS)).toEqual({ family: 'ogg-opus' });
    expect(sniff(VORBIS)).toEqual({ family: 'ogg' });
    expect(sniff(webp(false))).toEqual({ family: 'webp', animated: false });
    expect(sniff(webp(true))).toEqual({ family: 'webp', animated: true });
    expect(sniff(pad(bytes('ID3')))).toEqual({ family: 'mp3' });
    expect(sniff(pad(bytes([0xff, 0xfb, 0x90])))).toEqual({ family: 'mp3' });
    expect(sniff(pad(bytes([0xff, 0xf1, 0x50])))).toEqual({ family: 'aac' });
    expect(sniff(pad(bytes('#!AMR\n')))).toEqual({ family: 'amr' });
    expect(sniff(pad(bytes('GIF89a')))).toEqual({ family: 'gif' });
    expect(sniff(Buffer.from('Grüße aus Köln\nZeile 2\n'))).toEqual({ family: 'text' });
    expect(sniff(bytes([0x00, 0x01, 0x02, 0x03]))).toEqual({ family: 'binary' });
  });

  it('takes UTF-8 text cut inside a character as text', () => {
    const text = Buffer.from('añadido €');
    expect(sniff(text.subarray(0, text.length - 1))).toEqual({ family: 'text' });
  });
});

describe('decideType', () => {
  it('takes a declared type whose bytes fit it, with its limit', () => {
    expect(decideType('image/png', PNG, 'a.png', 'meta')).toEqual({ ok: true, mimeType: 'image/png', maxBytes: 5 * MB });
    expect(decideType('application/pdf', PDF, 'a.pdf', 'meta')).toEqual({ ok: true, mimeType: 'application/pdf', maxBytes: 100 * MB });
    expect(decideType('video/mp4', mp4('isom'), 'a.mp4', 'meta')).toEqual({ ok: true, mimeType: 'video/mp4', maxBytes: 16 * MB });
    expect(decideType('audio/ogg; codecs=opus', OPUS, 'a.ogg', 'meta')).toMatchObject({ ok: true, mimeType: 'audio/ogg' });
    expect(decideType('application/msword', OLE2, 'a.doc', 'meta')).toMatchObject({ ok: true, mimeType: 'application/msword' });
  });

  it('refuses bytes that are not the declared type, and types WhatsApp does not take', () => {
    expect(decideType('image/png', JPEG, 'a.png', 'meta')).toMatchObject({ ok: false, status: 415 });
    expect(decideType('audio/ogg', VORBIS, 'a.ogg', 'meta')).toMatchObject({ ok: false, status: 415 });
    expect(decideType('image/gif', pad(bytes('GIF89a')), 'a.gif', 'meta')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/image\/gif is not a media type/),
    });
    expect(decideType('application/zip', ZIP, 'a.zip', 'meta')).toMatchObject({ ok: false });
  });

  it('types an untyped upload by its bytes, and by its name where the bytes cannot tell', () => {
    expect(decideType('application/octet-stream', PNG, 'x', 'meta')).toMatchObject({ ok: true, mimeType: 'image/png' });
    expect(decideType(undefined, mp4('3gp5'), 'clip', 'meta')).toMatchObject({ ok: true, mimeType: 'video/3gpp' });
    expect(decideType('', mp4('M4A '), 'song', 'meta')).toMatchObject({ ok: true, mimeType: 'audio/mp4' });
    expect(decideType('', ZIP, 'report.xlsx', 'meta')).toMatchObject({
      ok: true,
      mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    });
    expect(decideType('', OLE2, 'deck.ppt', 'meta')).toMatchObject({ ok: true, mimeType: 'application/vnd.ms-powerpoint' });
    expect(decideType('', ZIP, 'archive.zip', 'meta')).toMatchObject({ ok: false });
    expect(decideType('', Buffer.from('hello\n'), 'notes.txt', 'meta')).toMatchObject({ ok: true, mimeType: 'text/plain' });
    expect(decideType('', Buffer.from('hello\n'), 'notes', 'meta')).toMatchObject({ ok: false });
    // busboy's default for a part without a Content-Type is text/plain: non-text bytes are typed by what they are.
    expect(decideType('text/plain', PNG, 'p', 'meta')).toMatchObject({ ok: true, mimeType: 'image/png' });
  });

  it('caps static stickers at 100 KB and animated ones at 500 KB', () => {
    expect(decideType('image/webp', webp(false), 's.webp', 'meta')).toMatchObject({ ok: true, maxBytes: 100 * KB });
    expect(decideType('image/webp', webp(true), 's.webp', 'meta')).toMatchObject({ ok: true, maxBytes: 500 * KB });
  });

  it('applies Twilio’s narrower rules: 16 MB at most, and of documents PDF only', () => {
    expect(decideType('application/pdf', PDF, 'a.pdf', 'twilio')).toMatchObject({ ok: true, maxBytes: 16 * MB });
    expect(decideType('application/msword', OLE2, 'a.doc', 'twilio')).toMatchObject({ ok: false, message: expect.stringMatching(/Twilio/) });
    expect(maxBytesFor('image/png', 'twilio')).toBe(5 * MB);
    expect(supportedTypes('twilio')).not.toContain('text/plain');
    expect(supportedTypes('meta')).toContain('text/plain');
  });

  it('maps the usual aliases', () => {
    expect(canonicalType('image/jpg')).toBe('image/jpeg');
    expect(canonicalType('audio/mp3')).toBe('audio/mpeg');
    expect(canonicalType('Video/3GP')).toBe('video/3gpp');
    expect(canonicalType('application/octet-stream')).toBe('');
  });
});
