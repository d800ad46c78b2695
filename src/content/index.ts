// Content by digest: Provider (read), Ingester (verified, resumable write), Manager (list, delete).
export type { BlobInfo, ContentStore, Descriptor, FileIngest, Ingester, Manager, Provider, ReadOptions, Writer, WriterOptions } from './content-store.js';
export { LocalContentStore } from './local.js';
export { DigestMismatchError, DigestingStream, hexOf, isDigest, sha256Of, validateDigest } from './digest.js';
