import type { ContainerInspect } from '../../types/engine.js';
import type { EngineClient } from '../../client/index.js';
import { AttachSession } from '../attach-session.js';
import { StatusError, type CommandImpl } from '../command.js';
import { catchSignals, monitorTtySize } from '../terminal.js';

// `berth attach`: the local terminal joined to a running container's
// streams until it exits (its code becomes ours) or the user detaches.

async function inspectRunning(client: EngineClient, name: string): Promise<ContainerInspect> {
  const c = await client.containerInspect(name);
  if (!c.State.Running) throw new StatusError('You cannot attach to a stopped container, start it first', 1);
  if (c.State.Paused) throw new StatusError('You cannot attach to a paused container, unpause it first', 1);
  if (c.State.Restarting) throw new StatusError('You cannot attach to a restarting container, wait until it is running', 1);
  return c;
}

interface AttachValues {
  noStdin: boolean;
  sigProxy: boolean;
  detachKeys: string;
}

export const attachCommand: CommandImpl<AttachValues> = {
  flags: [
    { name: 'no-stdin', kind: 'bool', usage: 'Do not attach STDIN' },
    { name: 'sig-proxy', kind: 'bool', usage: 'Proxy all received signals to the process', default: true, defaultText: 'true' },
    { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
  ],
  args: { kind: 'exact', n: 1 },
  async run(ctx, values, [name]) {
    const client = ctx.client();
    // Wait first (not-running), so an exit right after attaching is not missed.
    const wait = await client.containerWait(name!);
    let c: ContainerInspect;
    try {
      c = await inspectRunning(client, name!);
    } catch (err) {
      wait.cancel();
      throw err;
    }
    const tty = c.Config.Tty === true;
    if (!values.noStdin && tty && !ctx.stdin.isTTY) {
      wait.cancel();
      throw new StatusError('the input device is not a TTY', 1);
    }
    const stdin = !values.noStdin && c.Config.OpenStdin === true;
    const stopSignals = values.sigProxy && !tty ? catchSignals({ stderr: ctx.stderr, forward: (signal) => void client.containerKill(c.Id, signal).catch(() => {}) }) : () => {};
    let stopResize = () => {};
    try {
      const connection = await client.containerAttach(c.Id, { stream: true, stdin, stdout: true, stderr: true, detachKeys: values.detachKeys || undefined });
      const session = new AttachSession({
        connection,
        tty,
        stdin: stdin ? ctx.stdin : undefined,
        stdout: ctx.stdout,
        stderr: ctx.stderr,
        detachKeys: values.detachKeys,
        warn: (m) => ctx.err(`${m}\n`),
      });
      try {
        await inspectRunning(client, c.Id);
      } catch (err) {
        session.cancel();
        throw err;
      }
      if (tty && ctx.stdout.isTTY) stopResize = monitorTtySize(client, c.Id, ctx.stdout, ctx.stderr, { nudge: true });
      const end = await session.done;
      if (end === 'detached') {
        wait.cancel();
        throw new StatusError('read escape sequence', 1);
      }
      const result = await wait.result;
      if (result.Error?.Message) throw new StatusError(result.Error.Message, 1);
      return result.StatusCode;
    } finally {
      stopResize();
      stopSignals();
    }
  },
};
