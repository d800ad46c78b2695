export { ContainerService, normalizeSignal, statusText, mergeConfig, type AttachSession, type WaitCondition, type ListOptions, type LogsOptions, type AttachOptions, type ContainerServiceOptions } from './service.js';
export { formatTimestampNs, parseTimestampNs, type LogEntry, type StdStream } from './logs.js';
