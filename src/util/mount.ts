import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { SystemError } from '../errors/index.js';

// Node has no mount(2); mount(8) and umount(8) are the portable way in.

export interface MountDescription {
  type: string;
  source: string;
  options: string[];
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _stdout, stderr) => {
      if (err) reject(new SystemError(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

/** Mounts a stack of mount descriptions (as a snapshotter returns) on `target`. */
export async function mountAll(mounts: MountDescription[], target: string): Promise<void> {
  for (const m of mounts) {
    if (m.type === 'bind') {
      await run('mount', ['--bind', m.source, target]);
      if (m.options.includes('ro')) await run('mount', ['-o', 'remount,bind,ro', target]);
    } else {
      await run('mount', ['-t', m.type, '-o', m.options.join(','), m.source, target]);
    }
  }
}

export async function unmount(target: string, opts: { lazy?: boolean } = {}): Promise<void> {
  await run('umount', [...(opts.lazy ? ['-l'] : []), target]);
}

/** True when something is mounted exactly at `target`. */
export async function isMountPoint(target: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  const escaped = target.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
  return mounts.split('\n').some((line) => line.split(' ')[4] === escaped);
}

/** Unmounts `target` if mounted; tolerates "not mounted". */
export async function unmountIfMounted(target: string): Promise<void> {
  if (await isMountPoint(target)) await unmount(target).catch(() => unmount(target, { lazy: true }));
}
