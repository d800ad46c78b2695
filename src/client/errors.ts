// Errors of the Engine API client. Messages read like the docker CLI's,
// because the CLI prints them as they are.

/** The daemon answered with a non-2xx status; `message` is its JSON `message`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** What docker prints for a daemon error: "Error response from daemon: …". */
  override toString(): string {
    return `Error response from daemon: ${this.message}`;
  }

  get isNotFound(): boolean {
    return this.statusCode === 404;
  }
}

/** The daemon's socket does not answer (missing socket, refused, unreachable host). */
export class DaemonUnreachableError extends Error {
  constructor(
    readonly host: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`Cannot connect to the berth daemon at ${host}. Is the berth daemon running?`, options);
    this.name = 'DaemonUnreachableError';
  }
}

/** A stream reported an error of its own (jsonmessage `error`, or a system-error frame). */
export class StreamError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'StreamError';
  }
}

const CONNECT_ERRORS = new Set(['ENOENT', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT']);

/** True for socket errors that mean "nobody is listening there". */
export function isConnectFailure(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && CONNECT_ERRORS.has((err as NodeJS.ErrnoException).code ?? '');
}
