import { mkdir, rm, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isMountPoint, unmountIfMounted } from '../util/mount.js';
import { run } from './exec.js';

// Network namespaces kept alive by bind mounts under berth's exec root (what
// `ip netns` does under /run/netns), so they are berth's alone. The directory
// is a private mount of itself: otherwise each namespace's bind mount would be
// copied into every mount namespace made later and outlive our unmount.

export class NetnsDir {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    if (!(await isMountPoint(this.dir))) {
      await run('mount', ['--bind', this.dir, this.dir]);
    }
    await run('mount', ['--make-private', this.dir]);
  }

  path(id: string): string {
    return join(this.dir, id);
  }

  async list(): Promise<string[]> {
    return (await readdir(this.dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
  }

  /** A new namespace with nothing in it, pinned at path(id). */
  async create(id: string): Promise<string> {
    const p = this.path(id);
    await writeFile(p, '');
    try {
      await run('unshare', [`--net=${p}`, 'true']);
    } catch (err) {
      await rm(p, { force: true });
      throw err;
    }
    return p;
  }

  /** Unpins the namespace; the kernel frees it (and its veth ends) once no process is left in it. */
  async remove(id: string): Promise<void> {
    const p = this.path(id);
    await unmountIfMounted(p);
    await rm(p, { force: true });
  }

  /** Drops the private mount when no namespace is left (a stopped daemon leaves no mount). */
  async close(): Promise<void> {
    if ((await this.list()).length === 0) {
      await unmountIfMounted(this.dir);
      await rm(this.dir, { recursive: true, force: true });
    }
  }
}
