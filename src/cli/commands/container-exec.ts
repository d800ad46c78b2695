import { AttachSession } from '../attach-session.js';
import { StatusError, type CommandImpl } from '../command.js';
import { monitorTtySize, terminalSize } from '../terminal.js';
import { parseKeyValueFile, validateEnv } from '../options/container-options.js';
import type { ExecCreateRequest } from '../../types/exec.js';

// `berth exec`: docker's RunExec. Inspect first (so "No such container"
// wins), check the TTY before creating (an exec ID would leak otherwise),
// then start detached or attached, and exit with the process's code.

interface ExecValues {
  detach: boolean;
  detachKeys: string;
  env: string[];
  envFile: string[];
  interactive: boolean;
  privileged: boolean;
  tty: boolean;
  user: string;
  workdir: string;
}

export const execCommand: CommandImpl<ExecValues> = {
  flags: [
    { name: 'detach', short: 'd', kind: 'bool', usage: 'Detached mode: run command in the background' },
    { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
    { name: 'env', short: 'e', kind: 'list', usage: 'Set environment variables', parse: (v) => validateEnv(v) },
    { name: 'env-file', kind: 'list', usage: 'Read in a file of environment variables' },
    { name: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open even if not attached' },
    { name: 'privileged', kind: 'bool', usage: 'Give extended privileges to the command' },
    { name: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY' },
    { name: 'user', short: 'u', kind: 'string', usage: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
    { name: 'workdir', short: 'w', kind: 'string', usage: 'Working directory inside the container' },
  ],
  args: { kind: 'min', n: 2 },
  interspersed: false,
  async run(ctx, v, [container, ...cmd]) {
    const client = ctx.client();
    const env = [...v.envFile.flatMap((f) => parseKeyValueFile(f, (k) => process.env[k])), ...v.env];
    const req: ExecCreateRequest = {
      User: v.user,
      Privileged: v.privileged,
      Tty: v.tty,
      Cmd: cmd,
      WorkingDir: v.workdir,
      Env: env,
      AttachStdin: !v.detach && v.interactive,
      AttachStdout: !v.detach,
      AttachStderr: !v.detach,
      DetachKeys: v.detachKeys,
    };
    await client.containerInspect(container!);
    if (!v.detach && req.AttachStdin && req.Tty && !ctx.stdin.isTTY) throw new StatusError('the input device is not a TTY', 1);
    if (req.Tty) {
      const [h, w] = terminalSize(ctx.stdout);
      if (h > 0 && w > 0) req.ConsoleSize = [h, w];
    }
    const { Id: id } = await client.execCreate(container!, req);
    if (!id) throw new StatusError('exec ID empty', 1);
    if (v.detach) {
      await client.execStartDetached(id, { Tty: req.Tty, ConsoleSize: req.ConsoleSize });
      return 0;
    }
    const connection = await client.execAttach(id, { Tty: req.Tty, ConsoleSize: req.ConsoleSize });
    const session = new AttachSession({
      connection,
      tty: req.Tty === true,
      stdin: req.AttachStdin ? ctx.stdin : undefined,
      stdout: ctx.stdout,
      // With a TTY, stderr is the same stream as stdout.
      stderr: req.Tty ? ctx.stdout : ctx.stderr,
      detachKeys: v.detachKeys,
      warn: (m) => ctx.err(`${m}\n`),
    });
    const stopResize = req.Tty && ctx.stdin.isTTY ? monitorTtySize(client, id, ctx.stdout, ctx.stderr, { exec: true, nudge: true }) : () => {};
    try {
      const end = await session.done;
      if (end === 'detached') throw new StatusError('read escape sequence', 1);
    } finally {
      stopResize();
    }
    const inspect = await client.execInspect(id);
    return inspect.ExitCode ?? 0;
  },
};
