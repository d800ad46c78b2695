import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes a build context into `dir`: name → content, parents made as needed;
 * a content starting with "->" makes a symlink to the rest. Returns `dir`.
 */
export async function writeContext(dir: string, files: Record<string, string>): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(join(path, '..'), { recursive: true });
    if (content.startsWith('->')) await symlink(content.slice(2), path);
    else await writeFile(path, content);
  }
  return dir;
}
