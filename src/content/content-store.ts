import type { Readable } from 'node:stream';

// Content by digest, after containerd's core/content: small roles so that a
// caller asks only for what it needs. A Provider reads blobs, an Ingester
// writes them (verified against the expected digest, resumable under a ref),
// a Manager lists and deletes. Pull, push, load, save, commit and the builder
// all go in and out of the store through these.

/** A blob named by its digest ("sha256:<hex>") and size in bytes. */
export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
}

export interface BlobInfo {
  digest: string;
  size: number;
}

export interface ReadOptions {
  /** First byte to read (inclusive). */
  start?: number;
  /** Last byte to read (inclusive), as fs.createReadStream takes it. */
  end?: number;
}

export interface Provider {
  /** Digest and size of a stored blob, or undefined when absent. */
  info(digest: string): Promise<BlobInfo | undefined>;
  /** A stream of a stored blob; NotFoundError when absent. */
  reader(digest: string, opts?: ReadOptions): Promise<Readable>;
  /** The whole blob in memory (configs, manifests: small things). */
  read(digest: string): Promise<Buffer>;
  /** The file holding a blob, for callers that hand it to another process. */
  path(digest: string): string;
}

export interface WriterOptions {
  /** The digest the content must have; commit refuses anything else. */
  expected?: string;
  /** The size the content must have. */
  size?: number;
  /**
   * fsync before publishing (default true). A pull turns it off: the layer
   * unpacked from the blob is not fsynced either, and a kill -9 keeps the page
   * cache; only a power cut could lose both, which startup repair handles.
   */
  sync?: boolean;
}

/** One ingest in progress. Writes append; commit verifies and publishes. */
export interface Writer {
  readonly ref: string;
  /** Bytes written so far (a resumed ingest starts where the last one stopped). */
  readonly offset: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Digest of what has been written so far. */
  digest(): string;
  /**
   * Verifies (against opts.expected/size, and `expected` here if given),
   * fsyncs and moves the blob into place. Returns its digest. A mismatch
   * throws DigestMismatchError and discards the ingest.
   */
  commit(expected?: string, size?: number): Promise<string>;
  /** Closes the writer, keeping what was written for a later resume. */
  close(): Promise<void>;
  /** Throws away what was written. */
  abort(): Promise<void>;
}

/**
 * An ingest that another process fills (a pull's decompression pipeline
 * keeps the compressed bytes with `tee`): the file to write, then a commit.
 */
export interface FileIngest {
  readonly ref: string;
  /** The file the content goes to (created empty). */
  readonly path: string;
  /**
   * Publishes the file as blob `digest` once it holds exactly `size` bytes.
   * The digest is the caller's: it hashed the very bytes it handed to the
   * process that wrote the file, so they are not read back.
   */
  commit(digest: string, size: number): Promise<string>;
  /** Throws away what was written. */
  abort(): Promise<void>;
}

export interface Ingester {
  /**
   * Opens (or resumes) the ingest named `ref`. Only one writer per ref at a
   * time: a second one waits for the first to close.
   */
  writer(ref: string, opts?: WriterOptions): Promise<Writer>;
  /** Stores a whole small blob (config, manifest), verified when `expected` is given. */
  put(data: Uint8Array, expected?: string): Promise<string>;
  /** Stores a stream, verified when `expected` is given; returns digest and size. */
  ingest(input: Readable, opts?: WriterOptions & { signal?: AbortSignal }): Promise<BlobInfo>;
  /** Opens an ingest named `ref` for another process to write (never resumed; not fsynced). */
  fileIngest(ref: string): Promise<FileIngest>;
}

export interface Manager {
  list(): Promise<BlobInfo[]>;
  delete(digest: string): Promise<void>;
  /** Removes ingests nobody is writing (a crash's leftovers). */
  cleanup(): Promise<void>;
}

export interface ContentStore extends Provider, Ingester, Manager {}
