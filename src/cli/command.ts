import type { ClientTls, EngineClient } from '../client/index.js';
import type { FlagSpec, ParsedFlags } from './flags.js';

// What a command is: its flags, its argument rule and what it runs, plus the
// context it runs in. Commands return an exit code or throw; main() prints.

/** An error with the exit code docker gives it (cli.StatusError). An empty message prints nothing. */
export class StatusError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

export type ArgsRule =
  | { kind: 'none' }
  | { kind: 'min'; n: number }
  | { kind: 'max'; n: number }
  | { kind: 'exact'; n: number }
  | { kind: 'range'; min: number; max: number }
  | { kind: 'any' };

export interface CommandImpl<Options = Record<string, any>> {
  flags: FlagSpec[];
  args: ArgsRule;
  /** False for run/create/tag: flags end at the first positional (pflag SetInterspersed(false)). */
  interspersed?: boolean;
  run(ctx: CliContext, options: Options, args: string[], parsed: ParsedFlags): Promise<number | void>;
}

/** A leaf command as the registry and help know it. */
export interface CommandEntry {
  name: string;
  /** Other names under the same parent (`container ls` is also `ps` and `list`). */
  aliases?: string[];
  /** cobra's Use: the name, then the argument synopsis. */
  use: string;
  short: string;
  /** docker's "aliases" annotation: every way to call it, shown under "Aliases:". */
  aliasesLine?: string;
  /** Position among the root help's "Common Commands". */
  commonOrder?: number;
  load(): Promise<CommandImpl>;
}

export interface GroupEntry {
  name: string;
  short: string;
  subcommands: CommandEntry[];
}

export interface GlobalOptions {
  hosts: string[];
  debug: boolean;
  logLevel: string;
  config?: string;
  context?: string;
  /** TLS to a TCP daemon (--tls, --tlsverify, DOCKER_TLS_VERIFY, …), undefined when off. */
  tls?: ClientTls;
}

export interface CliStreams {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
}

export interface CliContext extends CliStreams {
  /** "berth" or "berth container" …: how the user called the command's parent and the command. */
  commandPath: string;
  globals: GlobalOptions;
  /** The Engine API client (created on first use). */
  client(): EngineClient;
  out(text: string): void;
  err(text: string): void;
}
