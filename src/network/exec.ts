import { spawn } from 'node:child_process';
import { SystemError } from '../errors/index.js';

// One way to run the host tools the network subsystem drives (ip, iptables,
// unshare, CNI plugins): arguments as an array, optional stdin, stdout back.

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
}

export interface RunOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export function exec(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs and throws a SystemError with the tool's own message when it fails. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0) throw new SystemError(`${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout).trim() || `exit status ${r.code}`}`);
  return r.stdout;
}
