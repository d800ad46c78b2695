// The version of this package (read from package.json only when asked for).
// The CLI runs from dist/src/cli or from the bundle in dist/cli-bundle, so
// look upward for berth's own package.json rather than at a fixed depth.

export async function cliVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  let dir = new URL('.', import.meta.url);
  for (let depth = 0; depth < 6; depth++) {
    try {
      const pkg = JSON.parse(await readFile(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'berth') return pkg.version ?? 'unknown';
    } catch {
      /* not here: go up */
    }
    dir = new URL('..', dir);
  }
  return 'unknown';
}
