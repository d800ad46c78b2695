import { spawn } from 'node:child_process';
import { closeSync, existsSync, fchmodSync, mkdirSync, openSync, realpathSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, resolve } from 'node:path';

// When root runs `berth` and nothing listens on the default socket, start
// berthd in the background (like a socket-activated dockerd would be) and
// carry on once it answers /_ping.

export const DAEMON_LOG = '/var/log/berth/berthd.log';
const READY_TIMEOUT_MS = 10_000;

/** bin/berthd beside the script that runs this CLI (bin/berth), also when that script is reached through a symlink. */
export function berthdBesideCli(script = process.argv[1] ?? ''): string {
  const beside = resolve(dirname(script), 'berthd');
  if (existsSync(beside)) return beside;
  try {
    return resolve(dirname(realpathSync(script)), 'berthd');
  } catch {
    return beside;
  }
}

function pingOnce(socketPath: string): Promise<boolean> {
  return new Promise((done) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      done((res.statusCode ?? 0) === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => done(false));
    req.end();
  });
}

/** Polls /_ping until it answers, the time is up, or `gaveUp()` says the daemon is gone. */
export async function waitForPing(socketPath: string, timeoutMs = READY_TIMEOUT_MS, gaveUp: () => boolean = () => false): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  while (Date.now() < deadline) {
    const exitedBefore = gaveUp();
    if (await pingOnce(socketPath)) return true;
    // Another berthd may have won the data-root lock: one last ping settles it.
    if (exitedBefore) return false;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
  return false;
}

/**
 * Starts berthd detached with its output in DAEMON_LOG and waits for it.
 * Returns false (leaving the caller's connection error to be shown) when
 * there is no berthd to start or it does not come up in time.
 */
export async function startDaemonInBackground(
  socketPath: string,
  stderr: NodeJS.WritableStream,
  opts: { berthd?: string; logPath?: string; args?: string[] } = {},
): Promise<boolean> {
  const berthd = opts.berthd ?? berthdBesideCli();
  const logPath = opts.logPath ?? DAEMON_LOG;
  if (!existsSync(berthd)) return false;
  let logFd: number;
  try {
    // The daemon's log names containers, images and errors: root's only, as dockerd's journal.
    mkdirSync(dirname(logPath), { recursive: true, mode: 0o700 });
    logFd = openSync(logPath, 'a', 0o600);
    fchmodSync(logFd, 0o600);
  } catch {
    return false;
  }
  // Its own session and / as cwd: the daemon must outlive this terminal and not pin our directory.
  const child = spawn(process.execPath, [berthd, ...(opts.args ?? [])], { detached: true, cwd: '/', stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  child.unref();
  const ready = await waitForPing(socketPath, READY_TIMEOUT_MS, () => exited);
  if (!ready) return false;
  stderr.write(`berth: started berthd in the background (pid ${child.pid}, log ${logPath})\n`);
  return true;
}
