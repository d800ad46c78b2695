import { open, readFile, unlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { ConflictError } from '../errors/index.js';

// One berthd per data root. The lock file holds the owner's pid; a lock whose
// owner is no longer a live berthd is stale and taken over.

function isLiveBerthd(pid: number): boolean {
  if (!pid || pid === process.pid) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('berthd');
  } catch {
    return false;
  }
}

export async function acquireDataRootLock(path: string, dataRoot: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.sync();
      await fh.close();
      return async () => {
        const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (owner === process.pid) await unlink(path).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (isLiveBerthd(owner)) {
        throw new ConflictError(`another berthd (pid ${owner}) is already using data root ${dataRoot}; stop it first or start this one with a different --data-root`);
      }
      await unlink(path).catch(() => {});
    }
  }
  throw new ConflictError(`cannot lock data root ${dataRoot}: lock file ${path} keeps reappearing`);
}
