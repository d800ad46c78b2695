import { chmod, mkdir } from 'node:fs/promises';

/** mkdir -p, and `mode` set on the last directory even when it existed (an older berth made it 0755). */
export async function privateDir(path: string, mode: number): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  await chmod(path, mode);
}
