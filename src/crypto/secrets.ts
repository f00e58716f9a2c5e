import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Secrets kept in Postgres (number credentials, AI configuration API keys) are encrypted with
 * AES-256-GCM under CREDENTIALS_ENCRYPTION_KEY, which lives only in the environment: a copy of
 * the database alone reveals nothing. A stored value reads `v1:<key id>:<iv>:<tag>:<ciphertext>`
 * (base64url); the key id (the key's sha256, 8 hex) lets a process with a different key say so
 * instead of failing with a bare authentication error. `purpose` is bound as associated data, so
 * a value copied from one column into another does not decrypt.
 */
export class SecretBox {
  private readonly key: Buffer;
  readonly keyId: string;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('an encryption key is 32 bytes');
    this.key = key;
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  seal(plain: string, purpose: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(purpose));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', this.keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join(':');
  }

  open(sealed: string, purpose: string): string {
    const [version, keyId, iv, tag, data] = sealed.split(':');
    if (version !== 'v1' || !keyId || iv === undefined || tag === undefined || data === undefined)
      throw new SecretError('not an encrypted value this version can read');
    if (keyId !== this.keyId) {
      throw new SecretError(`encrypted under another CREDENTIALS_ENCRYPTION_KEY (key id ${keyId}; this process has ${this.keyId})`);
    }
    try {
      const authTag = Buffer.from(tag, 'base64url');
      if (authTag.length !== 16) throw new Error('tag length');
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(purpose));
      decipher.setAuthTag(authTag);
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretError('does not decrypt: altered, or stored for another purpose');
    }
  }
}

export class SecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretError';
  }
}

/** CREDENTIALS_ENCRYPTION_KEY: 32 bytes as 64 hex digits or base64. Throws a message naming the format. */
export function parseEncryptionKey(raw: string): Buffer {
  const text = raw.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const key = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
    if (key.length === 32) return key;
  }
  throw new Error('must be 32 random bytes as 64 hex digits or base64 (openssl rand -hex 32)');
}

/** The last four characters, for showing that a secret is set without showing it. */
export function maskSecret(secret: string | undefined | null): string | null {
  if (!secret) return null;
  return secret.length <= 8 ? '••••' : `••••${secret.slice(-4)}`;
}
