import { spawn } from 'node:child_process';
import { openSync, closeSync, existsSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { SystemError } from '../errors/index.js';
import { cleanRuntimeMessage, type OciRuntime } from './oci-runtime.js';
import type { StdinSink } from './task.js';

// Containers run under conmon, the monitor podman uses: conmon runs
// `<runtime> create`, holds the container's stdio (or pty master), writes the
// log file, records the exit code in the exit dir and outlives berthd. The
// engine then calls `<runtime> start`.

export interface ConmonOptions {
  id: string;
  name: string;
  /** OCI bundle dir holding config.json; conmon also puts its attach socket and fifos here. */
  bundle: string;
  runtime: OciRuntime;
  conmonPath: string;
  /** CRI-format log file (conmon's k8s-file driver). */
  logPath: string;
  /** Past this many bytes (counted since conmon started or last hit it) conmon starts a new file, renamed over logPath: berthd's backstop, see container/log-files.ts. */
  logSizeMax?: number;
  exitDir: string;
  tty: boolean;
  openStdin: boolean;
  /** Keep the container's stdin open when an attached client goes away (OpenStdin without StdinOnce). */
  leaveStdinOpen: boolean;
  logLevel?: string;
  /** Run a process in the existing container `id` instead (conmon --exec): the OCI process spec file. */
  execProcessSpec?: string;
  /** With execProcessSpec: hears the exit code conmon sends on the sync pipe once the process ended. */
  onExecExit?: (exitCode: number | undefined) => void;
}

export const CONTAINER_PID_FILE = 'container.pid';
export const CONMON_PID_FILE = 'conmon.pid';

/**
 * Starts conmon, which creates the container with the runtime. Resolves with
 * the container's pid once the runtime reported success, or rejects with the
 * runtime's own error message.
 */
export function launchConmon(o: ConmonOptions): Promise<{ pid: number }> {
  const args = [
    '--api-version', '1',
    '-c', o.id,
    '-u', o.id,
    '-n', o.name,
    '-r', o.runtime.path,
    '-b', o.bundle,
    '-p', join(o.bundle, CONTAINER_PID_FILE),
    '-P', join(o.bundle, CONMON_PID_FILE),
    '-l', `k8s-file:${o.logPath}`,
    '--exit-dir', o.exitDir,
    // conmon notes an OOM kill as an "oom" file here (and in its working directory).
    '--persist-dir', o.bundle,
    '--full-attach',
    '--socket-dir-path', o.bundle,
    '--log-level', o.logLevel ?? 'error',
    '--no-sync-log',
  ];
  for (const a of o.runtime.globalArgs()) args.push('--runtime-arg', a);
  if (o.logSizeMax !== undefined) args.push('--log-size-max', String(o.logSizeMax));
  if (o.tty) args.push('-t');
  if (o.openStdin) args.push('-i');
  if (o.leaveStdinOpen) args.push('--leave-stdin-open');
  if (o.execProcessSpec) args.push('--exec', '--exec-process-spec', o.execProcessSpec);

  return new Promise((resolve, reject) => {
    const child = spawn(o.conmonPath, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      cwd: o.bundle,
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', _OCI_SYNCPIPE: '3' },
      detached: true,
    });
    let stderr = '';
    let sync = '';
    let settled = false;
    const finish = (err: Error | null, pid?: number) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve({ pid: pid! });
    };
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const syncPipe = child.stdio[3] as Readable;
    syncPipe.setEncoding('utf8');
    // An exec's conmon sends a second message: the process's exit code.
    let exitReported = false;
    const reportExit = (code: number | undefined) => {
      if (exitReported || !o.onExecExit) return;
      exitReported = true;
      o.onExecExit(code);
    };
    syncPipe.on('data', (d: string) => {
      sync += d;
      for (let nl = sync.indexOf('\n'); nl >= 0; nl = sync.indexOf('\n')) {
        const line = sync.slice(0, nl);
        sync = sync.slice(nl + 1);
        let msg: { data: number; message?: string };
        try {
          msg = JSON.parse(line) as { data: number; message?: string };
        } catch (err) {
          finish(new SystemError(`conmon sent an unreadable sync message: ${line.trim()}`, { cause: err }));
          syncPipe.destroy();
          return;
        }
        if (settled) {
          reportExit(msg.data < 0 ? undefined : msg.data);
          syncPipe.destroy();
          return;
        }
        if (msg.data > 0) finish(null, msg.data);
        else finish(new SystemError(o.execProcessSpec ? runtimeExecError(msg.message ?? stderr) : runtimeCreateError(o.runtime.name, msg.message ?? stderr)));
        if (!o.onExecExit || msg.data <= 0) {
          syncPipe.destroy();
          return;
        }
      }
    });
    syncPipe.on('close', () => reportExit(undefined));
    syncPipe.on('end', () => finish(new SystemError(runtimeCreateError(o.runtime.name, stderr || 'conmon exited before reporting the container pid'))));
    child.on('error', (err) => finish(new SystemError(`cannot run conmon: ${err.message}`, { cause: err })));
    child.unref();
  });
}

function runtimeCreateError(runtimeName: string, raw: string): string {
  const msg = cleanRuntimeMessage(raw) || raw.trim();
  // Docker's wording; the CLI maps "executable file not found" / "no such file
  // or directory" to exit 127 and "permission denied" to 126.
  return `failed to create task for container: OCI runtime create failed: ${msg.startsWith(runtimeName) ? msg : `${runtimeName} create failed: ${msg}`}: unknown`;
}

function runtimeExecError(raw: string): string {
  const msg = cleanRuntimeMessage(raw) || raw.trim();
  // Docker's wording, which the CLI prints as is.
  return `OCI runtime exec failed: ${msg}: unknown`;
}

/** Reads conmon's pid for an adopted container; undefined when conmon is gone. */
export function liveConmonPid(bundle: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(bundle, CONMON_PID_FILE), 'utf8').trim());
    if (!pid) return undefined;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('conmon') && cmdline.includes(bundle) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Asks conmon to resize the container's pty (its ctl fifo, message type 1). */
export async function resizeTty(bundle: string, height: number, width: number): Promise<void> {
  const ctl = join(bundle, 'ctl');
  if (!existsSync(ctl)) return;
  // Opened read-write: on Linux that never blocks on a FIFO, even when conmon is gone.
  const fh = await open(ctl, 'w+');
  try {
    await fh.write(`1 ${height} ${width}\n`);
  } finally {
    await fh.close();
  }
}

/** Asks conmon to reopen its log file (ctl fifo, message type 2): it starts a new, empty one at the log path. */
export async function reopenLog(bundle: string): Promise<void> {
  const ctl = join(bundle, 'ctl');
  if (!existsSync(ctl)) return;
  const fh = await open(ctl, 'w+');
  try {
    await fh.write('2 0 0\n');
  } finally {
    await fh.close();
  }
}

/**
 * Connects to conmon's attach socket to feed the container's stdin. The
 * socket is SOCK_SEQPACKET, which node:net cannot open, so socat (made for
 * exactly this) carries the bytes; on end of input it shuts down its write
 * side and conmon closes the container's stdin. Output does not come from
 * here: berth reads it from the log file, so nothing is lost between start
 * and attach. `socatPath` comes from the daemon's lookup of the binary.
 */
export function connectStdin(bundle: string, socatPath = 'socat'): StdinSink {
  // sun_path is 108 bytes: reach the socket through the bundle dir passed as fd 3.
  const dirFd = openSync(bundle, 'r');
  let child;
  try {
    // Both ways: conmon also sends the container's output to every client of
    // its attach socket and blocks (the container with it) once one stops
    // reading, so socat reads that output and drops it (stdout is /dev/null);
    // berthd delivers output from the log files.
    child = spawn(socatPath, ['-b', '32768', 'STDIO', 'UNIX-CONNECT:/proc/self/fd/3/attach,type=5'], {
      stdio: ['pipe', 'ignore', 'ignore', dirFd],
    });
  } finally {
    closeSync(dirFd);
  }
  const stdin = child.stdin!;
  let open = true;
  // A container that exits (or a socat that fails) closes the pipe under us.
  stdin.on('error', () => (open = false));
  child.on('error', () => (open = false));
  child.on('exit', () => (open = false));
  return {
    write(chunk) {
      if (open) stdin.write(chunk);
    },
    end() {
      if (open) stdin.end();
    },
    destroy() {
      open = false;
      stdin.destroy();
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
