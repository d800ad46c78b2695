// dockerd-style log lines on stderr: time="…" level=info msg="…".

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export type Logger = (level: LogLevel, msg: string) => void;

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4 };

export function createLogger(min: string): Logger {
  const threshold = ORDER[(min as LogLevel)] ?? ORDER.info;
  return (level, msg) => {
    if (ORDER[level] < threshold) return;
    process.stderr.write(`time="${new Date().toISOString()}" level=${level === 'warn' ? 'warning' : level} msg=${JSON.stringify(msg)}\n`);
  };
}
