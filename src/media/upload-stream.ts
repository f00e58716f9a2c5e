import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Request } from 'express';
import { HttpError } from '../api/errors';
import { SNIFF_BYTES, decideType, type MediaProvider } from './rules';

/** A file taken from a multipart upload: on disk (the caller removes it), hashed, typed and within its limit. */
export interface ReceivedUpload {
  path: string;
  size: number;
  sha256: string;
  mimeType: string;
  /** The part's file name (busboy strips any directories). */
  partFilename?: string;
  /** The other form fields, by name. */
  fields: Record<string, string>;
}

export interface ReceiveOptions {
  provider: MediaProvider;
  /** The form fields taken besides `file`, with their longest value in characters. */
  fields: Record<string, number>;
  /** Where the file is written while it arrives; default the OS's temporary directory. */
  dir?: string;
}

const invalid = (message: string, field?: string) => new HttpError('VALIDATION_ERROR', message, field ? [{ field, reason: message }] : null);

/**
 * Reads a multipart/form-data upload with busboy: its one file (field `file`) goes to a temporary
 * file while it arrives, hashed as it goes. Its type is decided from the part's Content-Type and
 * its first 4 KB (rules.ts), and that type's size limit is enforced as the bytes arrive: nothing
 * beyond the limit is written or kept. On any refusal the temporary file is removed and the rest
 * of the request is read and dropped, so the client (still sending) gets the answer.
 */
export function receiveUpload(req: Request, options: ReceiveOptions): Promise<ReceivedUpload> {
  if (!req.is('multipart/form-data')) {
    return Promise.reject(
      new HttpError('UNSUPPORTED_MEDIA_TYPE', 'Send the file as multipart/form-data with the file in the field "file"', {
        content_type: req.get('content-type') ?? null,
      }),
    );
  }
  return new Promise<ReceivedUpload>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        // busboy reports going over these (one more file or field than allowed): the upload is then refused.
        limits: { files: 1, fields: Object.keys(options.fields).length, fieldSize: 8192, fieldNameSize: 100 },
      });
    } catch (err) {
      reject(invalid(`Not a readable multipart body: ${(err as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    let saving: Promise<SavedFile> | undefined;
    let done = false;
    const fail = (err: unknown) => {
      if (done) return;
      done = true;
      req.unpipe(parser);
      // Ends the file stream busboy is feeding (a client that went away would leave it open for
      // ever): saveFile then removes the partial temporary file.
      parser.destroy(err instanceof Error ? err : new Error(String(err)));
      // Read and drop what the client still sends: it gets the answer once it has sent it all.
      req.resume();
      void saving?.then((f) => rm(f.path, { force: true })).catch(() => undefined);
      reject(err);
    };

    parser.on('field', (name, value, info) => {
      if (done) return;
      const max = options.fields[name];
      if (max === undefined) return fail(invalid(`Unknown form field "${name}": this upload takes file, ${Object.keys(options.fields).join(', ')}`, name));
      if (info.valueTruncated || value.length > max) return fail(invalid(`${name}: at most ${max} characters`, name));
      if (value.includes('\u0000')) return fail(invalid(`${name}: must not contain a NUL character (\\u0000)`, name));
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      // Refused already (busboy goes on through the chunk it has): nothing more is written.
      if (done) return void stream.resume();
      if (name !== 'file' || saving) {
        stream.resume();
        return fail(invalid(name !== 'file' ? `The file goes in the form field "file", not "${name}"` : 'One file per upload', name));
      }
      saving = saveFile(stream, info.mimeType, info.filename, options);
      saving.catch(fail);
    });
    parser.on('filesLimit', () => fail(invalid('One file per upload')));
    parser.on('fieldsLimit', () => fail(invalid(`Too many form fields: this upload takes file, ${Object.keys(options.fields).join(', ')}`)));
    parser.on('error', (err: Error) => fail(invalid(`Malformed multipart body: ${err.message}`)));
    parser.on('close', () => {
      if (done) return;
      if (!saving) return fail(invalid('file is required: send it in the form field "file"', 'file'));
      saving.then((file) => {
        if (done) return void rm(file.path, { force: true });
        done = true;
        resolve({ ...file, fields });
      }, fail);
    });
    req.on('error', fail);
    req.on('close', () => {
      if (!req.complete) fail(invalid('The upload was cut off'));
    });
    req.pipe(parser);
  });
}

type SavedFile = Omit<ReceivedUpload, 'fields'>;

async function saveFile(stream: Readable, declared: string, partFilename: string | undefined, options: ReceiveOptions): Promise<SavedFile> {
  const file = path.join(options.dir ?? tmpdir(), `whatsapp-upload-${randomUUID()}`);
  const inspect = new Inspect(declared, partFilename, options.provider);
  try {
    await pipeline(stream, inspect, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    if (inspect.size === 0) throw invalid('The file is empty', 'file');
    return { path: file, size: inspect.size, sha256: inspect.sha256(), mimeType: inspect.mimeType!, ...(partFilename ? { partFilename } : {}) };
  } catch (err) {
    stream.resume();
    await rm(file, { force: true });
    throw err;
  }
}

/**
 * Passes the bytes through once their type is decided (from the first SNIFF_BYTES), hashing and
 * counting them, and fails the stream the moment they pass that type's limit.
 */
class Inspect extends Transform {
  size = 0;
  mimeType: string | undefined;
  private maxBytes = 0;
  private head: Buffer[] = [];
  private headBytes = 0;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly declared: string,
    private readonly filename: string | undefined,
    private readonly provider: MediaProvider,
  ) {
    super();
  }

  sha256(): string {
    return this.hash.digest('hex');
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      if (this.mimeType === undefined) {
        this.head.push(chunk);
        this.headBytes += chunk.length;
        if (this.headBytes < SNIFF_BYTES) return callback();
        this.decide();
        const head = Buffer.concat(this.head);
        this.head = [];
        return callback(null, this.pass(head));
      }
      callback(null, this.pass(chunk));
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.mimeType === undefined && this.headBytes > 0) {
        this.decide();
        return callback(null, this.pass(Buffer.concat(this.head)));
      }
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  private decide(): void {
    const decision = decideType(this.declared, Buffer.concat(this.head), this.filename, this.provider);
    if (!decision.ok) throw new HttpError('UNSUPPORTED_MEDIA_TYPE', decision.message, decision.details);
    this.mimeType = decision.mimeType;
    this.maxBytes = decision.maxBytes;
  }

  private pass(chunk: Buffer): Buffer {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      throw new HttpError(
        'PAYLOAD_TOO_LARGE',
        `${this.mimeType} files may be at most ${formatBytes(this.maxBytes)} on WhatsApp${this.provider === 'twilio' ? ' through Twilio' : ''}`,
        {
          mime_type: this.mimeType,
          max_bytes: this.maxBytes,
        },
      );
    }
    this.hash.update(chunk);
    return chunk;
  }
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MB`;
  return `${+(n / 1024).toFixed(1)} KB`;
}
