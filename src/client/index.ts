export {
  EngineClient,
  CLIENT_API_VERSION,
  encodeQuery,
  encodeFilters,
  readAll,
  type EngineClientOptions,
  type RequestOptions,
  type HijackedConnection,
  type ContainerWaitHandle,
  type LogsOptions,
  type AttachOptions,
  type Filters,
  type Query,
  type ContainerPathStat,
} from './engine-client.js';
export { ApiError, DaemonUnreachableError, StreamError, isConnectFailure } from './errors.js';
export { DEFAULT_HOST, parseHost, chooseHost, InvalidHostError, type DaemonAddress, type HostChoice } from './host.js';
export {
  FrameDecoder,
  copyMultiplexed,
  copyRaw,
  readJsonLines,
  readLines,
  parseJsonLine,
  STREAM_STDIN,
  STREAM_STDOUT,
  STREAM_STDERR,
  STREAM_SYSTEMERR,
  type OutputSinks,
} from './streams.js';
export { clientTls, certDir, TlsConfigError, type ClientTls, type TlsFlags } from './tls.js';
