import { closeSync, existsSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { ApiError, type ContainerWaitHandle, type EngineClient } from '../../client/index.js';
import type { ContainerCreateRequest } from '../../types/engine.js';
import { AttachSession } from '../attach-session.js';
import { StatusError, type CliContext, type CommandImpl } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { displayJsonMessages } from '../jsonmessage.js';
import { CONTAINER_FLAGS, buildCreateRequest, createCommandFlags, type ContainerFlagValues } from '../options/container-options.js';
import { goPathError } from '../support/path-error.js';
import { familiarName, familiarString, parseNormalizedNamed, withDefaultTag, type ImageReference } from '../support/reference.js';
import { catchSignals, monitorTtySize, terminalSize } from '../terminal.js';

// `berth run` and `berth create`, with docker's flow: create (pulling a
// missing image), then for run: attach, wait, start, stream, and exit with
// the container's own code.

interface CreateFlagValues extends ContainerFlagValues {
  name: string;
  pull: string;
  quiet: boolean;
  useApiSocket: boolean;
  platform: string;
}

interface RunFlagValues extends CreateFlagValues {
  detach: boolean;
  sigProxy: boolean;
  detachKeys: string;
}

const PULL_POLICIES = ['always', 'missing', 'never', ''];

/** docker's withHelp: "berth: <err>" plus the pointer to --help. */
function withHelp(message: string, command: string): string {
  return `berth: ${message}\n\nRun 'berth ${command} --help' for more information`;
}

function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.toString();
  return err instanceof Error ? err.message : String(err);
}

/**
 * docker's toStatusError: 127 when the command cannot be found, 126 when it
 * cannot be run, 125 for every other failure of the daemon or the CLI.
 */
export function toStatusError(err: unknown): StatusError {
  const message = messageOf(err);
  let code = 125;
  if (message.includes('executable file not found') || message.includes('no such file or directory') || message.includes('system cannot find the file specified')) code = 127;
  else if (message.includes('permission denied') || message.includes('is a directory')) code = 126;
  return new StatusError(withHelp(message, 'run'), code);
}

function validatePull(policy: string, command: string): void {
  if (!PULL_POLICIES.includes(policy)) {
    throw new StatusError(withHelp(`invalid pull option: '${policy}': must be one of "always", "missing" or "never"`, command), 125);
  }
}

/** The create body for the parsed flags; errors read like docker's (exit 125). */
export function requestFromFlags(values: CreateFlagValues, parsed: ParsedFlags, args: string[], command: string, consoleSize: [number, number]): ContainerCreateRequest {
  try {
    const request = buildCreateRequest(values, { image: args[0]!, args: args.slice(1), changed: parsed.changed, consoleSize });
    if (values.useApiSocket) addApiSocketMount(request, command);
    return request;
  } catch (err) {
    if (err instanceof StatusError) throw err;
    throw new StatusError(withHelp((err as Error).message, command), 125);
  }
}

function addApiSocketMount(request: ContainerCreateRequest, command: string): void {
  const host = process.env.BERTH_HOST || process.env.DOCKER_HOST || 'unix:///run/berth/berth.sock';
  if (!host.startsWith('unix://')) throw new StatusError(withHelp(`flag --use-api-socket can only be used with unix sockets: docker endpoint ${host} incompatible`, command), 125);
  (request.HostConfig!.Mounts ??= []).push({ Type: 'bind', Source: host.slice('unix://'.length), Target: '/var/run/docker.sock', BindOptions: {} });
}

/** --cidfile: refuses an existing file, and removes the file again if no ID was written. */
class ContainerIdFile {
  private fd: number | undefined;
  private written = false;

  constructor(private readonly path: string) {
    if (!path) return;
    if (existsSync(path)) throw new Error(`container ID file found, make sure the other container isn't running or delete ${path}`);
    try {
      this.fd = openSync(path, 'w');
    } catch (err) {
      throw new Error(`failed to create the container ID file: ${goPathError('open', path, err)}`);
    }
  }

  write(id: string): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, id);
    this.written = true;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    if (!this.written) {
      try {
        unlinkSync(this.path);
      } catch {
        // Nothing to clean up.
      }
    }
  }
}

async function pullImage(ctx: CliContext, ref: ImageReference, platform: string, quiet: boolean): Promise<void> {
  const client = ctx.client();
  const tagged = withDefaultTag(ref);
  const { configDir, registryAuthHeader } = await import('../support/credentials.js');
  const registryAuth = await registryAuthHeader(configDir(ctx.globals.config), tagged.domain);
  const progress = await client.imagePull({ fromImage: familiarName(tagged), tag: tagged.digest ?? tagged.tag, platform, registryAuth });
  // Pull progress goes to stderr: stdout carries only the container's ID or output.
  const out = quiet ? { write: () => true } : ctx.stderr;
  await displayJsonMessages(progress, out);
}

export interface CreateOptions {
  name: string;
  platform: string;
  pull: string;
  quiet: boolean;
}

/** docker's createContainer: create, pulling first (always) or on a missing image (missing). */
export async function createContainer(ctx: CliContext, request: ContainerCreateRequest, opts: CreateOptions): Promise<string> {
  const client = ctx.client();
  const idFile = new ContainerIdFile(request.HostConfig?.ContainerIDFile ?? '');
  try {
    const image = request.Image ?? '';
    // A full image ID is not a name one could pull.
    const ref = /^(sha256:)?[a-f0-9]{64}$/.test(image) ? undefined : parseNormalizedNamed(image);
    if (opts.pull === 'always' && ref) await pullImage(ctx, ref, opts.platform, opts.quiet);
    let response;
    try {
      response = await client.containerCreate(request, { name: opts.name, platform: opts.platform });
    } catch (err) {
      if (!(err instanceof ApiError && err.statusCode === 404 && ref && opts.pull === 'missing')) throw err;
      if (!opts.quiet) ctx.err(`Unable to find image '${familiarString(withDefaultTag(ref))}' locally\n`);
      await pullImage(ctx, ref, opts.platform, opts.quiet);
      response = await client.containerCreate(request, { name: opts.name, platform: opts.platform });
    }
    for (const dns of request.HostConfig?.Dns ?? []) {
      if (/^127\.|^::1$/.test(dns)) {
        response.Warnings = [...(response.Warnings ?? []), `Localhost DNS (${dns}) may fail in containers.`];
        break;
      }
    }
    for (const warning of response.Warnings ?? []) ctx.err(`WARNING: ${warning}\n`);
    idFile.write(response.Id);
    return response.Id;
  } finally {
    idFile.close();
  }
}

async function runCreate(ctx: CliContext, values: CreateFlagValues, args: string[], parsed: ParsedFlags): Promise<number> {
  validatePull(values.pull, 'create');
  const request = requestFromFlags(values, parsed, args, 'create', terminalSize(ctx.stdout));
  const id = await createContainer(ctx, request, values);
  ctx.out(`${id}\n`);
  return 0;
}

/** After a failed start of an --rm container the daemon removes it; like docker, wait for that. */
export async function awaitRemoval(wait: ContainerWaitHandle): Promise<void> {
  await wait.result.catch(() => {});
}

function waitStatus(ctx: CliContext, wait: ContainerWaitHandle): Promise<number> {
  return wait.result.then(
    (result) => {
      if (result.Error?.Message) {
        ctx.err(`Error waiting for container: ${result.Error.Message}\n`);
        return 125;
      }
      return result.StatusCode;
    },
    (err: unknown) => {
      // A connection that drops mid-wait is Go's "unexpected EOF".
      const message = err instanceof Error && (err.message === 'aborted' || (err as NodeJS.ErrnoException).code === 'ECONNRESET') ? 'unexpected EOF' : messageOf(err);
      ctx.err(`error waiting for container: ${message}\n`);
      return 125;
    },
  );
}

async function runRun(ctx: CliContext, values: RunFlagValues, args: string[], parsed: ParsedFlags): Promise<number> {
  validatePull(values.pull, 'run');
  const request = requestFromFlags(values, parsed, args, 'run', terminalSize(ctx.stdout));
  if (!values.detach) {
    if (request.Tty && request.AttachStdin && !ctx.stdin.isTTY) throw new StatusError('the input device is not a TTY', 1);
  } else {
    if (values.attach.length !== 0) throw new StatusError('conflicting options: cannot specify both --attach and --detach', 1);
    request.AttachStdin = false;
    request.AttachStdout = false;
    request.AttachStderr = false;
    request.StdinOnce = false;
  }

  let id: string;
  try {
    id = await createContainer(ctx, request, values);
  } catch (err) {
    throw toStatusError(err);
  }
  const client = ctx.client();
  const stopSignals = catchSignals({
    stderr: ctx.stderr,
    forward: values.sigProxy ? (signal) => void client.containerKill(id, signal).catch(() => {}) : undefined,
  });
  try {
    return await runCreated(ctx, client, id, request, values);
  } finally {
    stopSignals();
  }
}

async function runCreated(ctx: CliContext, client: EngineClient, id: string, request: ContainerCreateRequest, values: RunFlagValues): Promise<number> {
  const attach = Boolean(request.AttachStdin || request.AttachStdout || request.AttachStderr);
  if (!attach) {
    // Detached: the ID first (docker prints it while starting).
    ctx.out(`${id}\n`);
    const removal = values.rm ? client.containerWait(id, 'removed').catch(() => undefined) : undefined;
    try {
      await client.containerStart(id);
    } catch (err) {
      const handle = await removal;
      if (handle) await awaitRemoval(handle);
      throw toStatusError(err);
    }
    (await removal)?.cancel();
    return 0;
  }

  // Attach and wait first, so neither the first output nor the exit can be missed.
  const attaching = client.containerAttach(id, {
    stream: true,
    stdin: request.AttachStdin,
    stdout: request.AttachStdout,
    stderr: request.AttachStderr,
    detachKeys: values.detachKeys || undefined,
  });
  const waiting = client.containerWait(id, values.rm ? 'removed' : 'next-exit');
  let connection;
  try {
    connection = await attaching;
  } catch (err) {
    void waiting.then((w) => w.cancel(), () => {});
    throw err;
  }
  const session = new AttachSession({
    connection,
    tty: request.Tty === true,
    stdin: request.AttachStdin ? ctx.stdin : undefined,
    stdout: request.AttachStdout ? ctx.stdout : undefined,
    // With a TTY there is one stream: stderr arrives on stdout.
    stderr: request.AttachStderr ? (request.Tty ? ctx.stdout : ctx.stderr) : undefined,
    detachKeys: values.detachKeys,
    warn: (m) => ctx.err(`${m}\n`),
  });
  let wait: ContainerWaitHandle;
  try {
    wait = await waiting;
  } catch (err) {
    session.cancel();
    throw toStatusError(err);
  }
  try {
    await client.containerStart(id);
  } catch (err) {
    session.cancel();
    await session.done.catch(() => {});
    if (values.rm) await awaitRemoval(wait);
    else wait.cancel();
    throw toStatusError(err);
  }
  const status = waitStatus(ctx, wait);

  let stopResize = () => {};
  if (request.Tty && ctx.stdout.isTTY) stopResize = monitorTtySize(client, id, ctx.stdout, ctx.stderr);
  try {
    const first = await Promise.race([session.done.then((end) => ({ kind: 'session' as const, end })), status.then((code) => ({ kind: 'status' as const, code }))]);
    if (first.kind === 'session') {
      if (first.end === 'detached') {
        wait.cancel();
        return 0;
      }
      return await status;
    }
    // The container is gone; the output may still be draining.
    if (!request.AttachStdout && !request.AttachStderr) session.cancel();
    await session.done.catch(() => {});
    return first.code;
  } finally {
    stopResize();
  }
}

export const createCommand: CommandImpl<CreateFlagValues> = {
  flags: [...createCommandFlags('creating'), ...CONTAINER_FLAGS],
  args: { kind: 'min', n: 1 },
  interspersed: false,
  run: runCreate,
};

export const runCommand: CommandImpl<RunFlagValues> = {
  flags: [
    { name: 'detach', short: 'd', kind: 'bool', usage: 'Run container in background and print container ID' },
    { name: 'sig-proxy', kind: 'bool', usage: 'Proxy received signals to the process', default: true, defaultText: 'true' },
    { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
    ...createCommandFlags('running'),
    ...CONTAINER_FLAGS,
  ],
  args: { kind: 'min', n: 1 },
  interspersed: false,
  run: runRun,
};
