import { spawn } from 'node:child_process';
import { openSync, closeSync, existsSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { SystemError } from '../errors/index.js';
import { cleanRuntimeMessage, type OciRuntime } from './oci-runtime.js';

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
  exitDir: string;
  tty: boolean;
  openStdin: boolean;
  /** Keep the container's stdin open when an attached client goes away (OpenStdin without StdinOnce). */
  leaveStdinOpen: boolean;
  logLevel?: string;
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
    '--full-attach',
    '--socket-dir-path', o.bundle,
    '--log-level', o.logLevel ?? 'error',
    '--no-sync-log',
  ];
  for (const a of o.runtime.globalArgs()) args.push('--runtime-arg', a);
  if (o.tty) args.push('-t');
  if (o.openStdin) args.push('-i');
  if (o.leaveStdinOpen) args.push('--leave-stdin-open');

  return new Promise((resolve, reject) => {
    const child = spawn(o.conmonPath, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
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
    syncPipe.on('data', (d: string) => {
      sync += d;
      const nl = sync.indexOf('\n');
      if (nl < 0) return;
      try {
        const msg = JSON.parse(sync.slice(0, nl)) as { data: number; message?: string };
        if (msg.data > 0) finish(null, msg.data);
        else finish(new SystemError(runtimeCreateError(o.runtime.name, msg.message ?? stderr)));
      } catch (err) {
        finish(new SystemError(`conmon sent an unreadable sync message: ${sync.trim()}`, { cause: err }));
      }
      syncPipe.destroy();
    });
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
  // O_NONBLOCK so a gone conmon (no reader) fails fast instead of hanging.
  const fh = await open(ctl, 'w+');
  try {
    await fh.write(`1 ${height} ${width}\n`);
  } finally {
    await fh.close();
  }
}

// conmon's attach socket is SOCK_SEQPACKET, which node:net cannot open; the
// node-unix-socket addon can. Loaded lazily: only stdin forwarding needs it.
type SeqpacketSocketCtor = new () => {
  connect(path: string, cb?: () => void): void;
  write(buf: Buffer, offset?: number, length?: number, cb?: () => void): void;
  end(cb?: () => void): void;
  destroy(): void;
  on(ev: string, cb: (...a: unknown[]) => void): void;
};
let seqpacketCtor: SeqpacketSocketCtor | undefined;

/** conmon reads at most this much per packet from the attach socket. */
const ATTACH_PACKET_MAX = 32768;

export interface StdinSink {
  write(chunk: Buffer): void;
  /** Half-closes: conmon then closes the container's stdin (unless told to leave it open). */
  end(): void;
  destroy(): void;
}

/**
 * Connects to conmon's attach socket to feed the container's stdin. Output
 * does not come from here: berth reads it from the log file, so nothing is
 * lost between start and attach.
 */
export function connectStdin(bundle: string): Promise<StdinSink> {
  if (!seqpacketCtor) {
    const require = createRequire(import.meta.url);
    seqpacketCtor = (require('node-unix-socket') as { SeqpacketSocket: SeqpacketSocketCtor }).SeqpacketSocket;
  }
  const sock = new seqpacketCtor();
  // sun_path is 108 bytes; reach long bundle paths through /proc/self/fd.
  let dirFd: number | undefined;
  let path = join(bundle, 'attach');
  if (path.length > 100) {
    dirFd = openSync(bundle, 'r');
    path = `/proc/self/fd/${dirFd}/attach`;
  }
  const closeDir = () => {
    if (dirFd !== undefined) closeSync(dirFd);
    dirFd = undefined;
  };
  return new Promise((resolve, reject) => {
    sock.on('error', (err) => {
      closeDir();
      reject(err as Error);
    });
    // conmon writes container output to attach clients too; we read it from the log instead.
    sock.on('data', () => {});
    try {
      sock.connect(path, () => {
        closeDir();
        // The addon throws when a socket is used after it closed; a client
        // that hangs up at any moment must not take the daemon down.
        let open = true;
        let destroyed = false;
        const guarded = (fn: () => void) => {
          if (!open) return;
          try {
            fn();
          } catch {
            open = false;
          }
        };
        sock.on('close', () => {
          open = false;
          destroyed = true;
        });
        resolve({
          write(chunk: Buffer) {
            for (let off = 0; off < chunk.length; off += ATTACH_PACKET_MAX) {
              const part = chunk.subarray(off, Math.min(chunk.length, off + ATTACH_PACKET_MAX));
              guarded(() => sock.write(part, 0, part.length));
            }
          },
          end: () =>
            guarded(() => {
              sock.end();
              open = false;
            }),
          destroy: () => {
            open = false;
            if (destroyed) return;
            destroyed = true;
            try {
              sock.destroy();
            } catch {
              /* already gone */
            }
          },
        });
      });
    } catch (err) {
      closeDir();
      reject(err as Error);
    }
  });
}
