import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, lchown, lstat, mkdir, open, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { applyLayer } from '../archive/apply.js';
import { decompress } from '../archive/compression.js';
import { InvalidParameterError, errorMessage } from '../errors/index.js';
import type { StepHost } from './build-job.js';
import { cacheKey } from './cache.js';
import { fileHashAs, multiHash, sourceHash } from './source-hash.js';
import { copyEntry, expandSource, inRoot, mkdirInRoot, resolveChown, resolvedInRoot, statSource, type Owner } from './copy.js';
import type { CopyCmd } from './instructions.js';
import { processWord } from './shell-lex.js';

// The COPY and ADD steps: sources from the context (.dockerignore applied),
// another stage or an image, a heredoc, or (ADD) a URL; checksummed into the
// step's history text and cache key ("COPY file:<sum> in /dest "), then
// written into a snapshot of the previous image and committed as a layer.
// ADD unpacks local tar archives. The file operations themselves, which never
// leave their roots, are in copy.ts.

interface Source {
  path: string;
  rel: string;
  isDir: boolean;
  name: string;
  url?: string;
  archive?: boolean;
}

/** The destination as a path in the image: relative ones under WORKDIR; "." and "x/" name a directory. */
function destination(raw: string, workdir: string): string {
  if (raw === '.' || raw === './') return workdir.endsWith('/') ? workdir : workdir + '/';
  if (raw.startsWith('/')) return raw;
  return posix.join(workdir, raw) + (raw.endsWith('/') ? '/' : '');
}

export async function copyStep(host: StepHost, cmd: CopyCmd): Promise<void> {
  const { job } = host;
  const what = cmd.kind.toUpperCase();
  const env = host.env();
  const expand = (s: string) => processWord(s, env, job.escape);
  const sources = cmd.sources.map(expand);
  const destRaw = expand(cmd.dest);
  const dest = destination(destRaw, host.runConfig.WorkingDir || '/');
  const chown = cmd.chown !== undefined ? expand(cmd.chown) : undefined;
  const chmodText = cmd.chmod !== undefined ? expand(cmd.chmod) : undefined;
  if (chmodText !== undefined && !/^[0-7]{1,4}$/.test(chmodText)) {
    throw new InvalidParameterError(`invalid chmod parameter: '${chmodText}'. it should be octal string and between 0 and 07777`);
  }
  const mode = chmodText !== undefined ? parseInt(chmodText, 8) : undefined;

  // Where the sources come from: the context, another stage, or an image.
  let srcRoot = job.contextDir;
  let fromContext = true;
  let release: (() => Promise<void>) | undefined;
  // A directory .dockerignore excludes is still entered when an exception may bring something below it back.
  const ignore = job.ignore;
  let excluded = (rel: string, isDir: boolean) => ignore.matches(rel) && !(isDir && ignore.mayIncludeUnder(rel));
  if (cmd.from !== undefined) {
    const mounted = await host.mountFrom(cmd.from);
    srcRoot = mounted.dir;
    release = mounted.release;
    fromContext = false;
    excluded = () => false;
  }
  const scratch = join(job.scratchDir, `src-${randomBytes(6).toString('hex')}`);
  // Made only for heredocs and URLs; a cached step of context files never touches the disk for it.
  let scratchMade = false;
  try {
    // Resolve every source and checksum it for the cache key.
    const resolved: Source[] = [];
    const hashes: string[] = [];
    // ADD looks into local files for archives.
    if (cmd.kind === 'add' && fromContext) await job.contextReady();
    for (const [i, s] of sources.entries()) {
      const heredoc = cmd.heredocs.find((h) => s === `<<${h.name}` || s === `<<-${h.name}` || new RegExp(`^\\d*<<-?["']?${h.name}["']?$`).test(cmd.sources[i]!));
      if (heredoc) {
        await mkdir(scratch, { recursive: true });
        scratchMade = true;
        const file = join(scratch, heredoc.name);
        await writeFile(file, heredoc.expand ? processWord(heredoc.content, env, '\\') : heredoc.content, { mode: 0o644 });
        await chmod(file, 0o644);
        resolved.push({ path: file, rel: '', isDir: false, name: heredoc.name });
        hashes.push(`file:${await fileHashAs(file, heredoc.name, 'context')}`);
        continue;
      }
      if (/^https?:\/\//i.test(s)) {
        if (cmd.kind === 'copy') throw new InvalidParameterError(`${what} failed: source can't be a URL for COPY`);
        await mkdir(scratch, { recursive: true });
        scratchMade = true;
        const { file, name } = await download(s, scratch, job.signal);
        resolved.push({ path: file, rel: '', isDir: false, name, url: s });
        // dockerd 20.10 writes a download's sum bare, without "file:".
        hashes.push(await fileHashAs(file, name, 'files'));
        continue;
      }
      const matches = await expandSource(srcRoot, s, excluded);
      if (matches.length === 0) throw new InvalidParameterError(`${what} failed: no source files were specified`);
      for (const rel of matches) {
        const st = await statSource(srcRoot, rel, excluded, what);
        const src: Source = { path: st.path, rel, isDir: st.isDir, name: posix.basename(rel) };
        if (cmd.kind === 'add' && !st.isDir && (await isArchive(st.path))) src.archive = true;
        resolved.push(src);
        hashes.push(await sourceHash(srcRoot, st.path, fromContext ? { excluded, known: job.contextDigests } : { style: 'files' }));
      }
    }
    if (resolved.length > 1 && !dest.endsWith('/')) {
      throw new InvalidParameterError(`When using ${what} with more than one source file, the destination must be a directory and end with a /`);
    }
    const srcHash = multiHash(hashes);
    // dockerd's text, quirks included: the destination as written, "--chown=u:g" glued to the sum.
    const createdBy = `${host.shell.join(' ')} #(nop) ${what} ${chown !== undefined ? `--chown=${chown}` : ''}${srcHash} in ${destRaw} `;
    const key = cacheKey({ parent: host.imageId, instruction: createdBy, extra: { chown: chown ?? '', chmod: chmodText ?? '' } });
    if (await host.lookupCache(key, createdBy)) return;
    if (fromContext) await job.contextReady();

    await host.withSnapshot(async (root) => {
      const owner: Owner | undefined = chown !== undefined ? await resolveChown(root, chown) : undefined;
      for (const src of resolved) await writeSource(root, src, dest, { fromContext, excluded, ...(owner ? { owner } : {}), ...(mode !== undefined ? { mode } : {}) });
    }, createdBy, key);
  } finally {
    if (scratchMade) await rm(scratch, { recursive: true, force: true });
    if (release) await release();
  }
}

/** Writes one source into the step's root at `dest`, by Docker's rules for files, directories and archives. */
async function writeSource(root: string, src: Source, dest: string, opts: { fromContext: boolean; excluded: (rel: string, isDir: boolean) => boolean; owner?: Owner; mode?: number }): Promise<void> {
  if (src.isDir) {
    // A directory's contents are copied, not the directory itself.
    const target = await mkdirInRoot(root, dest, opts.owner);
    for (const name of (await readdir(src.path)).sort()) {
      const rel = src.rel === '' ? name : posix.join(src.rel, name);
      if (opts.excluded(rel, (await lstat(join(src.path, name))).isDirectory())) continue;
      await copyEntry(join(src.path, name), rel, join(target, name), opts);
    }
    return;
  }
  if (src.archive) {
    const target = await mkdirInRoot(root, dest, opts.owner);
    const { stream } = await decompress((await open(src.path)).createReadStream());
    await applyLayer(stream, target);
    return;
  }
  let targetRel: string;
  if (dest.endsWith('/')) targetRel = posix.join(dest, src.name);
  else {
    const existing = await lstat(resolvedInRoot(root, dest)).catch(() => undefined);
    targetRel = existing?.isDirectory() ? posix.join(dest, src.name) : dest;
  }
  await mkdirInRoot(root, posix.dirname(targetRel), opts.owner);
  await copyEntry(src.path, '', inRoot(root, targetRel), { ...opts, ...(src.url ? { mode: opts.mode ?? 0o600 } : {}) });
}

/** A local file ADD unpacks: a tar, plain or compressed. */
async function isArchive(path: string): Promise<boolean> {
  const fh = await open(path);
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const head = buf.subarray(0, bytesRead);
    if (head.length >= 262 && head.subarray(257, 262).toString() === 'ustar') return true;
    if (head[0] === 0x1f && head[1] === 0x8b) return true; // gzip
    if (head.subarray(0, 3).toString() === 'BZh') return true;
    if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true; // xz
    if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return true; // zstd
    return false;
  } finally {
    await fh.close();
  }
}

/** ADD <url>: the file named after the URL's last path component, mtime from Last-Modified. */
async function download(url: string, dir: string, signal: AbortSignal): Promise<{ file: string; name: string }> {
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (err) {
    throw new InvalidParameterError(`failed to fetch ${url}: ${errorMessage(err)}`);
  }
  if (!res.ok || !res.body) throw new InvalidParameterError(`failed to GET ${url} with status ${res.status} ${res.statusText}: ${await res.text().catch(() => '')}`.trim());
  const base = posix.basename(new URL(url).pathname);
  const name = base && base !== '/' ? base : '__unnamed__';
  const file = join(dir, `download-${randomBytes(4).toString('hex')}`);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file, { mode: 0o600 }));
  await chmod(file, 0o600);
  await lchown(file, 0, 0);
  const lm = res.headers.get('last-modified');
  const t = lm ? new Date(lm) : new Date(0);
  if (!Number.isNaN(t.getTime())) await utimes(file, t, t);
  return { file, name };
}
