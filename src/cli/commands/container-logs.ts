import { copyMultiplexed, copyRaw } from '../../client/index.js';
import type { CommandImpl } from '../command.js';
import { parseTimestamp } from '../support/time.js';

// `berth logs`: the container's output, demultiplexed onto our stdout and
// stderr (raw for a TTY container), optionally following.

interface LogsValues {
  follow: boolean;
  since: string;
  until: string;
  timestamps: boolean;
  details: boolean;
  tail: string;
}

export const logsCommand: CommandImpl<LogsValues> = {
  flags: [
    { name: 'follow', short: 'f', kind: 'bool', usage: 'Follow log output' },
    { name: 'since', kind: 'string', usage: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'until', kind: 'string', usage: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'timestamps', short: 't', kind: 'bool', usage: 'Show timestamps' },
    { name: 'details', kind: 'bool', usage: 'Show extra details provided to logs' },
    { name: 'tail', short: 'n', kind: 'string', usage: 'Number of lines to show from the end of the logs', default: 'all', defaultText: '"all"' },
  ],
  args: { kind: 'exact', n: 1 },
  async run(ctx, values, [name]) {
    const client = ctx.client();
    const container = await client.containerInspect(name!);
    const now = new Date();
    const since = values.since ? parseTimestamp(values.since, now) : undefined;
    const until = values.until ? parseTimestamp(values.until, now) : undefined;
    const body = await client.containerLogs(container.Id, {
      stdout: true,
      stderr: true,
      follow: values.follow,
      timestamps: values.timestamps,
      details: values.details,
      since,
      until,
      tail: values.tail,
    });
    if (container.Config.Tty) await copyRaw(body, (d) => ctx.stdout.write(d));
    else await copyMultiplexed(body, { stdout: (d) => ctx.stdout.write(d), stderr: (d) => ctx.stderr.write(d) });
    return 0;
  },
};
