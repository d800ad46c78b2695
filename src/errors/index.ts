// Typed errors shared by every subsystem. Each class carries a stable `code`
// (the kind moby's errdefs names); src/api/status.ts maps kinds to HTTP status
// codes in one place, and the CLI maps them back to exit codes.

export type ErrorKind =
  | 'not-found'
  | 'conflict'
  | 'invalid-parameter'
  | 'not-modified'
  | 'forbidden'
  | 'unauthorized'
  | 'unavailable'
  | 'not-implemented'
  | 'system';

export class BerthError extends Error {
  readonly kind: ErrorKind = 'system';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Something named does not exist: "No such container: web". */
export class NotFoundError extends BerthError {
  override readonly kind = 'not-found' as const;
}

/** The request clashes with current state: a name in use, a running container. */
export class ConflictError extends BerthError {
  override readonly kind = 'conflict' as const;
}

/** The request itself is malformed or asks for something impossible. */
export class InvalidParameterError extends BerthError {
  override readonly kind = 'invalid-parameter' as const;
}

/** Nothing to do: the container is already started / already stopped (HTTP 304). */
export class NotModifiedError extends BerthError {
  override readonly kind = 'not-modified' as const;
}

export class ForbiddenError extends BerthError {
  override readonly kind = 'forbidden' as const;
}

/** Credentials missing or refused (a registry login, a pull that needs one). */
export class UnauthorizedError extends BerthError {
  override readonly kind = 'unauthorized' as const;
}

/** A dependency (runtime, registry, daemon) cannot be reached right now. */
export class UnavailableError extends BerthError {
  override readonly kind = 'unavailable' as const;
}

export class NotImplementedError extends BerthError {
  override readonly kind = 'not-implemented' as const;
}

/** An unexpected failure inside berth or a component it drives (HTTP 500). */
export class SystemError extends BerthError {
  override readonly kind = 'system' as const;
}

export function errorKind(err: unknown): ErrorKind {
  return err instanceof BerthError ? err.kind : 'system';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
