import type { CommandEntry, GroupEntry } from './command.js';
import { flagUsages, type FlagSpec } from './flags.js';

// Help texts laid out like the docker CLI's cobra usage template, with
// pflag's option list wrapped to the terminal (80 columns when not a TTY).

export const BIN = 'berth';

/** docker wraps option text at the terminal width minus one. */
export function helpWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout): number {
  const columns = stream.isTTY && stream.columns ? stream.columns : 80;
  return columns - 1;
}

function rightTrim(text: string): string {
  return text.replace(/\s+$/, '');
}

/** cobra's UseLine: the parent path, then the command's Use. */
export function useLine(parentPath: string, use: string): string {
  return `${parentPath} ${use}`;
}

export function commandHelp(parentPath: string, entry: CommandEntry, flags: readonly FlagSpec[], width = helpWidth()): string {
  let out = `Usage:  ${useLine(parentPath, entry.use)}\n\n${entry.short}\n`;
  if (entry.aliasesLine) out += `\nAliases:\n  ${entry.aliasesLine}\n`;
  const options = rightTrim(flagUsages(flags, width));
  if (options) out += `\nOptions:\n${options}\n`;
  return out;
}

function commandList(entries: ReadonlyArray<{ name: string; short: string }>, padding: number): string {
  return entries.map((e) => `  ${e.name.padEnd(padding)} ${e.short}`).join('\n');
}

/** cobra's NamePadding: the longest sibling name, at least 11. */
function namePadding(names: readonly string[]): number {
  return Math.max(11, ...names.map((n) => n.length));
}

export function groupHelp(group: GroupEntry): string {
  const subs = [...group.subcommands].sort((a, b) => a.name.localeCompare(b.name));
  const pad = namePadding(subs.map((s) => s.name));
  return (
    `Usage:  ${BIN} ${group.name} COMMAND\n\n${group.short}\n\nCommands:\n${commandList(subs, pad)}\n\n` +
    `Run '${BIN} ${group.name} COMMAND --help' for more information on a command.\n`
  );
}

export interface RootHelpInput {
  commands: readonly CommandEntry[];
  groups: readonly GroupEntry[];
  globalFlags: readonly FlagSpec[];
}

export function rootHelp(input: RootHelpInput, width = helpWidth()): string {
  const all = [...input.commands.map((c) => c.name), ...input.groups.map((g) => g.name)];
  const pad = namePadding(all);
  const common = input.commands.filter((c) => c.commonOrder !== undefined).sort((a, b) => a.commonOrder! - b.commonOrder!);
  const rest = input.commands.filter((c) => c.commonOrder === undefined).sort((a, b) => a.name.localeCompare(b.name));
  const groups = [...input.groups].sort((a, b) => a.name.localeCompare(b.name));
  return (
    `Usage:  ${BIN} [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n\n` +
    `Common Commands:\n${commandList(common, pad)}\n\n` +
    `Management Commands:\n${commandList(groups, pad)}\n\n` +
    `Commands:\n${commandList(rest, pad)}\n\n` +
    `Global Options:\n${rightTrim(flagUsages(input.globalFlags, width))}\n\n` +
    `Run '${BIN} COMMAND --help' for more information on a command.\n`
  );
}

/** What docker prints for a bad flag: the error, the usage line, a pointer to --help (exit 125). */
export function flagErrorText(message: string, commandPath: string, line: string): string {
  return `${message}\n\nUsage:  ${line}\n\nRun '${commandPath} --help' for more information`;
}
