import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApiError, DaemonUnreachableError, EngineClient, InvalidHostError, TlsConfigError, certDir, chooseHost, clientTls, parseHost } from '../client/index.js';
import { StatusError, type CliContext, type CommandEntry, type CommandImpl, type GlobalOptions } from './command.js';
import { FlagError, parseFlags, type FlagSpec } from './flags.js';
import { BIN, commandHelp, flagErrorText, groupHelp, rootHelp, useLine } from './help.js';
import { COMMANDS, GROUPS, findCommand, findGroup } from './registry.js';
import { cliVersion } from './version.js';

// `berth`: docker's command line over the Engine API. main() parses the
// global flags, finds the command (loading only its module), parses its
// flags with pflag's rules, runs it and exits with docker's exit codes.

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal', 'panic', 'trace'];

function configDir(): string {
  return process.env.DOCKER_CONFIG || join(homedir(), '.docker');
}

export function globalFlagSpecs(): FlagSpec[] {
  return [
    { name: 'config', kind: 'string', usage: 'Location of client config files', defaultText: JSON.stringify(configDir()) },
    {
      name: 'context',
      short: 'c',
      kind: 'string',
      usage: 'Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and default context set with "docker context use")',
    },
    { name: 'debug', short: 'D', kind: 'bool', usage: 'Enable debug mode' },
    { name: 'host', short: 'H', kind: 'list', usage: 'Daemon socket to connect to', key: 'hosts' },
    { name: 'log-level', short: 'l', kind: 'string', usage: 'Set the logging level ("debug", "info", "warn", "error", "fatal")', default: 'info', defaultText: '"info"' },
    { name: 'tls', kind: 'bool', usage: 'Use TLS; implied by --tlsverify' },
    { name: 'tlscacert', kind: 'string', usage: 'Trust certs signed only by this CA', defaultText: JSON.stringify(join(certDir(), 'ca.pem')) },
    { name: 'tlscert', kind: 'string', usage: 'Path to TLS certificate file', defaultText: JSON.stringify(join(certDir(), 'cert.pem')) },
    { name: 'tlskey', kind: 'string', usage: 'Path to TLS key file', defaultText: JSON.stringify(join(certDir(), 'key.pem')) },
    { name: 'tlsverify', kind: 'bool', usage: 'Use TLS and verify the remote', default: Boolean(process.env.DOCKER_TLS_VERIFY) },
    { name: 'version', short: 'v', kind: 'bool', usage: 'Print version information and quit' },
  ];
}

class ProcessContext implements CliContext {
  readonly stdout = process.stdout;
  readonly stderr = process.stderr;
  readonly stdin = process.stdin;
  private engine: EngineClient | undefined;

  constructor(
    readonly commandPath: string,
    readonly globals: GlobalOptions,
  ) {}

  client(): EngineClient {
    if (this.engine) return this.engine;
    const chosen = chooseHost(this.globals.hosts);
    // As docker: with TLS on and no host named, the daemon is tcp://localhost:2376.
    const choice = chosen.isDefault && this.globals.tls ? { host: 'tcp://localhost:2376', isDefault: false } : chosen;
    const address = parseHost(choice.host);
    const mayStartDaemon = choice.isDefault && address.kind === 'unix' && process.getuid?.() === 0;
    this.engine = new EngineClient({
      host: choice.host,
      tls: this.globals.tls,
      onUnreachable: mayStartDaemon
        ? async () => {
            const { startDaemonInBackground } = await import('./daemon-autostart.js');
            return startDaemonInBackground(address.kind === 'unix' ? address.socketPath : '', this.stderr);
          }
        : undefined,
    });
    return this.engine;
  }

  out(text: string): void {
    this.stdout.write(text);
  }

  err(text: string): void {
    this.stderr.write(text);
  }

  close(): void {
    this.engine?.close();
  }
}

function argsError(rule: CommandImpl['args'], commandPath: string, line: string, count: number): string | undefined {
  const plural = (n: number) => (n === 1 ? 'argument' : 'arguments');
  switch (rule.kind) {
    case 'none':
      return count === 0 ? undefined : `${BIN}: '${commandPath}' accepts no arguments\n\nUsage:  ${line}\n\nRun '${commandPath} --help' for more information`;
    case 'min':
      return count >= rule.n ? undefined : `${BIN}: '${commandPath}' requires at least ${rule.n} ${plural(rule.n)}\n\nUsage:  ${line}\n\nSee '${commandPath} --help' for more information`;
    case 'max':
      return count <= rule.n ? undefined : `${BIN}: '${commandPath}' requires at most ${rule.n} ${plural(rule.n)}\n\nUsage:  ${line}\n\nRun '${commandPath} --help' for more information`;
    case 'exact':
      return count === rule.n ? undefined : `${BIN}: '${commandPath}' requires ${rule.n} ${plural(rule.n)}\n\nUsage:  ${line}\n\nRun '${commandPath} --help' for more information`;
    case 'range':
      return count >= rule.min && count <= rule.max
        ? undefined
        : `${BIN}: '${commandPath}' requires at least ${rule.min} and at most ${rule.max} ${plural(rule.max)}\n\nUsage:  ${line}\n\nRun '${commandPath} --help' for more information`;
    case 'any':
      return undefined;
  }
}

async function runEntry(entry: CommandEntry, parentPath: string, argv: string[], globals: GlobalOptions): Promise<number> {
  const impl = await entry.load();
  const commandPath = `${parentPath} ${entry.name}`;
  const line = useLine(parentPath, entry.use);
  let parsed;
  try {
    parsed = parseFlags(impl.flags, argv, { interspersed: impl.interspersed ?? true });
  } catch (err) {
    if (err instanceof FlagError) throw new StatusError(flagErrorText(err.message, commandPath, line), 125);
    throw err;
  }
  for (const w of parsed.warnings) process.stderr.write(w + '\n');
  if (parsed.values.help === true) {
    process.stdout.write(commandHelp(parentPath, entry, impl.flags));
    return 0;
  }
  const argProblem = argsError(impl.args, commandPath, line, parsed.args.length);
  if (argProblem) throw new StatusError(argProblem, 1);
  const ctx = new ProcessContext(commandPath, globals);
  try {
    return (await impl.run(ctx, parsed.values, parsed.args, parsed)) ?? 0;
  } finally {
    ctx.close();
  }
}

async function runGroup(name: string, argv: string[], globals: GlobalOptions): Promise<number> {
  const group = findGroup(name)!;
  const groupPath = `${BIN} ${group.name}`;
  let parsed;
  try {
    parsed = parseFlags([], argv, { interspersed: false });
  } catch (err) {
    if (err instanceof FlagError) throw new StatusError(flagErrorText(err.message, groupPath, groupPath), 125);
    throw err;
  }
  const [sub, ...rest] = parsed.args;
  if (parsed.values.help === true || sub === undefined) {
    // Like docker: `berth container` shows the help on stderr, `--help` on stdout.
    (parsed.values.help === true ? process.stdout : process.stderr).write(groupHelp(group));
    return 0;
  }
  const entry = findCommand(group.subcommands, sub);
  if (!entry) throw new StatusError(`${BIN}: unknown command: ${groupPath} ${sub}\n\nUsage:  ${groupPath}\n\nRun '${groupPath} --help' for more information`, 1);
  return runEntry(entry, groupPath, rest, globals);
}

async function showHelpTopic(topic: string[]): Promise<number> {
  const [first, second] = topic;
  if (first === undefined) {
    process.stdout.write(rootHelp({ commands: COMMANDS, groups: GROUPS, globalFlags: globalFlagSpecs() }));
    return 0;
  }
  const group = findGroup(first);
  if (group && second === undefined) {
    process.stdout.write(groupHelp(group));
    return 0;
  }
  const entry = group ? findCommand(group.subcommands, second!) : findCommand(COMMANDS, first);
  if (!entry || topic.length > (group ? 2 : 1)) throw new StatusError(`unknown help topic: ${topic.join(' ')}`, 1);
  const impl = await entry.load();
  process.stdout.write(commandHelp(group ? `${BIN} ${group.name}` : BIN, entry, impl.flags));
  return 0;
}

/** Parses the global flags and runs the command they lead to; resolves with the exit code. */
export async function dispatch(argv: string[]): Promise<number> {
  const rootLine = `${BIN} [OPTIONS] COMMAND [ARG...]`;
  let parsed;
  try {
    parsed = parseFlags(globalFlagSpecs(), argv, { interspersed: false });
  } catch (err) {
    if (err instanceof FlagError) throw new StatusError(flagErrorText(err.message, BIN, rootLine), 125);
    throw err;
  }
  const v = parsed.values;
  if (v.version === true) {
    process.stdout.write(`${BIN} version ${await cliVersion()}\n`);
    return 0;
  }
  if (v.help === true || parsed.args.length === 0) {
    // docker prints its help on stderr when called without a command.
    (v.help === true ? process.stdout : process.stderr).write(rootHelp({ commands: COMMANDS, groups: GROUPS, globalFlags: globalFlagSpecs() }));
    return 0;
  }
  const logLevel = String(v.logLevel);
  if (!LOG_LEVELS.includes(logLevel)) throw new StatusError(`Unable to parse logging level: ${logLevel}`, 1);
  const hosts = v.hosts as string[];
  if (hosts.length > 1) throw new StatusError('Failed to initialize: unable to resolve berth endpoint: Specify only one -H', 1);
  const flagContext = v.context as string;
  if (flagContext && hosts.length) throw new StatusError('Failed to initialize: conflicting options: cannot specify both --host and --context', 1);
  // As in docker: --context, then an explicit host (-H, BERTH_HOST, DOCKER_HOST), then DOCKER_CONTEXT.
  const hostFromEnv = Boolean(process.env.BERTH_HOST || process.env.DOCKER_HOST);
  const context = flagContext || (hosts.length || hostFromEnv ? '' : process.env.BERTH_CONTEXT || process.env.DOCKER_CONTEXT || '');
  if (context && context !== 'default') {
    throw new StatusError(`Failed to initialize: unable to resolve berth endpoint: context "${context}": context not found: berth knows only the "default" context`, 1);
  }
  try {
    parseHost(chooseHost(hosts).host);
  } catch (err) {
    throw new StatusError(`Failed to initialize: unable to resolve berth endpoint: ${(err as Error).message}`, 1);
  }
  const globals: GlobalOptions = {
    hosts,
    debug: v.debug === true,
    logLevel: v.debug === true ? 'debug' : logLevel,
    config: (v.config as string) || undefined,
    context: context || undefined,
    tls: tlsOptions(parsed.values, parsed.changed),
  };

  const [name, ...rest] = parsed.args as [string, ...string[]];
  if (name === 'help') return showHelpTopic(rest);
  if (findGroup(name)) return runGroup(name, rest, globals);
  const entry = findCommand(COMMANDS, name);
  if (!entry) throw new StatusError(`${BIN}: unknown command: ${BIN} ${name}\n\nRun '${BIN} --help' for more information`, 1);
  return runEntry(entry, BIN, rest, globals);
}

function tlsOptions(v: Record<string, unknown>, changed: Set<string>) {
  try {
    return clientTls({
      tls: changed.has('tls') ? v.tls === true : undefined,
      tlsverify: changed.has('tlsverify') ? v.tlsverify === true : undefined,
      tlsverifyGiven: changed.has('tlsverify'),
      tlscacert: (v.tlscacert as string) || undefined,
      tlscert: (v.tlscert as string) || undefined,
      tlskey: (v.tlskey as string) || undefined,
    });
  } catch (err) {
    if (err instanceof TlsConfigError) throw new StatusError(`Failed to initialize: unable to resolve berth endpoint: ${err.message}`, 1);
    throw err;
  }
}

/** Turns what a command threw into docker's message and exit code. */
export function describeFailure(err: unknown): { message: string; exitCode: number } {
  if (err instanceof StatusError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof ApiError) return { message: err.toString(), exitCode: 1 };
  if (err instanceof DaemonUnreachableError || err instanceof InvalidHostError) return { message: err.message, exitCode: 1 };
  if (err instanceof Error) return { message: err.message, exitCode: 1 };
  return { message: String(err), exitCode: 1 };
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.write('', () => resolve());
  });
}

/** Entry point of bin/berth. Never returns: exits with the command's code. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<never> {
  // A closed pipe (`berth logs x | head -1`) ends the CLI quietly, as SIGPIPE ends docker.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  let exitCode: number;
  try {
    exitCode = await dispatch(argv);
  } catch (err) {
    const failure = describeFailure(err);
    if (failure.message) process.stderr.write(failure.message + '\n');
    exitCode = failure.exitCode;
  }
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(exitCode);
}
