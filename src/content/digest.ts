import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { InvalidParameterError } from '../errors/index.js';

/** Content did not hash to what it was named: a corrupt or tampered blob. */
export class DigestMismatchError extends InvalidParameterError {
  readonly code = 'DIGEST_INVALID';
  constructor(readonly expected: string, readonly actual: string) {
    super(`digest mismatch: expected ${expected}, got ${actual}`);
  }
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

/** Only sha256 digests are stored; anything else could name a path. */
export function validateDigest(digest: string): void {
  if (!DIGEST.test(digest)) throw new InvalidParameterError(`invalid digest ${JSON.stringify(digest)}: only sha256 digests are supported`);
}

export function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}

export function sha256Of(data: string | Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** A pass-through that hashes and counts what flows through it. */
export class DigestingStream extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  /** Valid once the stream has ended. */
  digest(): string {
    return 'sha256:' + this.hash.copy().digest('hex');
  }
}
