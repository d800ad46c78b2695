import { open, readFile, unlink, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

// A lock shared by every berthd on the host (whatever its data root), held
// while one picks a subnet and brings its bridge up: two daemons starting at
// once otherwise both see 172.17.0.0/16 free and take it. The file holds the
// owner's PID; a lock whose owner is dead (kill -9) is taken over.

export const HOST_LOCK_PATH = '/run/berth-network.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withHostLock<T>(fn: () => Promise<T>, path = HOST_LOCK_PATH): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      // An empty file is a lock being written right now; only a dead owner's lock is stale.
      if (owner > 0 && owner !== process.pid && !alive(owner)) {
        await unlink(path).catch(() => {});
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${path} (held by PID ${owner || 'unknown'})`);
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => {});
  }
}
