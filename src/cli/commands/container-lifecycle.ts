import { ApiError } from '../../client/index.js';
import { AttachSession } from '../attach-session.js';
import { StatusError, type CliContext, type CommandImpl } from '../command.js';
import { catchSignals, monitorTtySize } from '../terminal.js';
import { awaitRemoval } from './container-run.js';

// start, stop, kill, rm, restart, rename and wait: one API call per named
// container, each name printed on success and each error on its own line,
// exit 1 if any failed (docker's errors.Join).

function describe(err: unknown): string {
  if (err instanceof ApiError) return err.toString();
  return err instanceof Error ? err.message : String(err);
}

/** Runs `op` for every container concurrently (docker's parallelOperation), reporting in argument order. */
export async function forEachContainer(ctx: CliContext, names: string[], op: (name: string) => Promise<void>, opts: { ignore?: (err: unknown) => boolean } = {}): Promise<number> {
  const results = names.map((name) => op(name).then(() => undefined, (err: unknown) => err));
  const errors: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const err = await results[i];
    if (err === undefined) {
      ctx.out(`${names[i]}\n`);
      continue;
    }
    if (opts.ignore?.(err)) {
      ctx.err(`${describe(err)}\n`);
      continue;
    }
    errors.push(describe(err));
  }
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

function timeoutOption(values: { timeout: number }, changed: ReadonlySet<string>): number | undefined {
  if (changed.has('time') && changed.has('timeout')) throw new StatusError('conflicting options: cannot specify both --timeout and --time', 1);
  return changed.has('timeout') || changed.has('time') ? values.timeout : undefined;
}

const SIGNAL_FLAG = { name: 'signal', short: 's', kind: 'string', usage: 'Signal to send to the container' } as const;
const TIMEOUT_FLAGS = [
  { name: 'timeout', short: 't', kind: 'int', usage: 'Seconds to wait before killing the container' },
  { name: 'time', kind: 'int', usage: 'Seconds to wait before killing the container (deprecated: use --timeout)', deprecated: 'use --timeout instead', key: 'timeout' },
] as const;

export const stopCommand: CommandImpl<{ signal: string; timeout: number }> = {
  flags: [SIGNAL_FLAG, ...TIMEOUT_FLAGS],
  args: { kind: 'min', n: 1 },
  async run(ctx, values, names, parsed) {
    const timeout = timeoutOption(values, parsed.changed);
    const client = ctx.client();
    return forEachContainer(ctx, names, (id) => client.containerStop(id, { signal: values.signal, timeout }));
  },
};

export const restartCommand: CommandImpl<{ signal: string; timeout: number }> = {
  flags: [SIGNAL_FLAG, ...TIMEOUT_FLAGS],
  args: { kind: 'min', n: 1 },
  async run(ctx, values, names, parsed) {
    const timeout = timeoutOption(values, parsed.changed);
    const client = ctx.client();
    // docker restarts one after the other.
    const errors: string[] = [];
    for (const name of names) {
      try {
        await client.containerRestart(name, { signal: values.signal, timeout });
        ctx.out(`${name}\n`);
      } catch (err) {
        errors.push(describe(err));
      }
    }
    if (errors.length) throw new StatusError(errors.join('\n'), 1);
    return 0;
  },
};

export const killCommand: CommandImpl<{ signal: string }> = {
  flags: [SIGNAL_FLAG],
  args: { kind: 'min', n: 1 },
  async run(ctx, values, names) {
    const client = ctx.client();
    return forEachContainer(ctx, names, (id) => client.containerKill(id, values.signal));
  },
};

export const rmCommand: CommandImpl<{ volumes: boolean; link: boolean; force: boolean }> = {
  flags: [
    { name: 'volumes', short: 'v', kind: 'bool', usage: 'Remove anonymous volumes associated with the container' },
    { name: 'link', short: 'l', kind: 'bool', usage: 'Remove the specified link' },
    { name: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of a running container (uses SIGKILL)' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx, values, names) {
    const client = ctx.client();
    return forEachContainer(
      ctx,
      names,
      async (name) => {
        const id = name.replace(/^\/+|\/+$/g, '');
        if (id === '') throw new Error('container name cannot be empty');
        await client.containerRemove(id, { force: values.force, volumes: values.volumes, link: values.link });
      },
      // With -f, a container that is already gone is not a failure.
      { ignore: (err) => values.force && err instanceof ApiError && err.statusCode === 404 },
    );
  },
};

export const renameCommand: CommandImpl = {
  flags: [],
  args: { kind: 'exact', n: 2 },
  async run(ctx, _values, [oldArg, newArg]) {
    const oldName = oldArg!.trim();
    const newName = newArg!.trim();
    if (oldName === '' || newName === '') throw new StatusError('Error: Neither old nor new names may be empty', 1);
    try {
      await ctx.client().containerRename(oldName, newName);
    } catch (err) {
      ctx.err(`${describe(err)}\n`);
      throw new StatusError(`Error: failed to rename container named ${oldName}`, 1);
    }
    return 0;
  },
};

export const waitCommand: CommandImpl = {
  flags: [],
  args: { kind: 'min', n: 1 },
  async run(ctx, _values, names) {
    const client = ctx.client();
    const errors: string[] = [];
    for (const name of names) {
      try {
        const wait = await client.containerWait(name);
        const result = await wait.result;
        ctx.out(`${result.StatusCode}\n`);
      } catch (err) {
        errors.push(describe(err));
      }
    }
    if (errors.length) throw new StatusError(errors.join('\n'), 1);
    return 0;
  },
};

interface StartValues {
  attach: boolean;
  interactive: boolean;
  detachKeys: string;
}

async function startAttached(ctx: CliContext, values: StartValues, name: string): Promise<number> {
  const client = ctx.client();
  const c = await client.containerInspect(name);
  const id = c.Id;
  const tty = c.Config.Tty === true;
  const stopSignals = tty ? () => {} : catchSignals({ stderr: ctx.stderr, forward: (signal) => void client.containerKill(id, signal).catch(() => {}) });
  try {
    const stdin = values.interactive && c.Config.OpenStdin === true;
    const connection = await client.containerAttach(id, { stream: true, stdin, stdout: true, stderr: true, detachKeys: values.detachKeys || undefined });
    const session = new AttachSession({
      connection,
      tty,
      stdin: stdin ? ctx.stdin : undefined,
      stdout: ctx.stdout,
      stderr: ctx.stderr,
      detachKeys: values.detachKeys,
      warn: (m) => ctx.err(`${m}\n`),
    });
    const wait = await client.containerWait(id, c.HostConfig.AutoRemove ? 'removed' : 'next-exit');
    try {
      await client.containerStart(id);
    } catch (err) {
      session.cancel();
      await session.done.catch(() => {});
      if (c.HostConfig.AutoRemove) await awaitRemoval(wait);
      else wait.cancel();
      throw err;
    }
    const stopResize = tty && ctx.stdout.isTTY ? monitorTtySize(client, id, ctx.stdout, ctx.stderr) : () => {};
    try {
      const end = await session.done;
      if (end === 'detached') {
        wait.cancel();
        return 0;
      }
      const result = await wait.result.catch(() => ({ StatusCode: 125, Error: null }));
      return result.StatusCode;
    } finally {
      stopResize();
    }
  } finally {
    stopSignals();
  }
}

export const startCommand: CommandImpl<StartValues> = {
  flags: [
    { name: 'attach', short: 'a', kind: 'bool', usage: 'Attach STDOUT/STDERR and forward signals' },
    { name: 'interactive', short: 'i', kind: 'bool', usage: "Attach container's STDIN" },
    { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx, values, names) {
    if (values.attach || values.interactive) {
      if (names.length > 1) throw new StatusError('you cannot start and attach multiple containers at once', 1);
      return startAttached(ctx, values, names[0]!);
    }
    const client = ctx.client();
    const failed: string[] = [];
    for (const name of names) {
      try {
        await client.containerStart(name);
        ctx.out(`${name}\n`);
      } catch (err) {
        ctx.err(`${describe(err)}\n`);
        failed.push(name);
      }
    }
    if (failed.length) throw new StatusError(`Error: failed to start containers: ${failed.join(', ')}`, 1);
    return 0;
  },
};
