export { ContainerService, normalizeSignal, statusText, mergeConfig, type AttachSession, type WaitCondition, type ListOptions, type LogsOptions, type AttachOptions, type ContainerServiceOptions, type ContainerView, type ExecStart } from './service.js';
export { formatTimestampNs, parseTimestampNs, type LogEntry, type StdStream } from './logs.js';
export { RestartScheduler, nextRestartDelay, restartWanted } from './restart.js';
export { DEFAULT_LOG_DRIVER, LOG_DRIVERS, validateLogConfig, type LogConfig } from './log-driver.js';
