import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../../client/index.js';
import { StatusError, type CliContext, type CommandImpl } from '../command.js';
import { displayJsonMessages } from '../jsonmessage.js';
import { configDir, eraseCredentials, registryAuthHeader, serverKey, storeCredentials, HUB_KEY } from '../support/credentials.js';
import { goPathError } from '../support/path-error.js';
import { familiarName, familiarString, parseNormalizedNamed, withDefaultTag } from '../support/reference.js';
import { referenceString } from '../../image/reference.js';

// `berth pull/push/login/logout/save/load`, with docker's flags and output.

function describe(err: unknown): string {
  if (err instanceof ApiError) return err.toString();
  return err instanceof Error ? err.message : String(err);
}

function parseRef(name: string) {
  try {
    return parseNormalizedNamed(name);
  } catch (err) {
    throw new StatusError(`invalid reference format: ${(err as Error).message}`.replace(/^invalid reference format: invalid reference format/, 'invalid reference format'), 1);
  }
}

/** Quiet output: swallow the progress, keep errors. */
const quietTarget = { write: () => true, isTTY: false };

export const pullCommand: CommandImpl<{ allTags: boolean; platform: string; quiet: boolean; disableContentTrust: boolean }> = {
  flags: [
    { name: 'all-tags', short: 'a', kind: 'bool', usage: 'Download all tagged images in the repository' },
    { name: 'disable-content-trust', kind: 'bool', usage: 'Skip image verification', default: true },
    { name: 'platform', kind: 'string', usage: 'Set platform if server is multi-platform capable', default: process.env.DOCKER_DEFAULT_PLATFORM ?? '' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress verbose output' },
  ],
  args: { kind: 'exact', n: 1 },
  async run(ctx, values, [name]) {
    let ref = parseRef(name!);
    if (values.allTags && (ref.tag !== undefined || ref.digest !== undefined)) throw new StatusError('tag can\'t be used with --all-tags/-a', 1);
    if (!values.allTags && ref.tag === undefined && ref.digest === undefined) {
      ref = withDefaultTag(ref);
      if (!values.quiet) ctx.out('Using default tag: latest\n');
    }
    const registryAuth = await registryAuthHeader(configDir(ctx.globals.config), ref.domain);
    const progress = await ctx.client().imagePull({
      fromImage: familiarName(ref),
      ...(values.allTags ? {} : { tag: ref.digest ?? ref.tag }),
      platform: values.platform,
      registryAuth,
    });
    await displayJsonMessages(progress, values.quiet ? quietTarget : ctx.stdout);
    ctx.out(`${values.allTags ? `${ref.domain}/${ref.path}` : referenceString(ref)}\n`);
    return 0;
  },
};

export const pushCommand: CommandImpl<{ allTags: boolean; platform: string; quiet: boolean; disableContentTrust: boolean }> = {
  flags: [
    { name: 'all-tags', short: 'a', kind: 'bool', usage: 'Push all tags of an image to the repository' },
    { name: 'disable-content-trust', kind: 'bool', usage: 'Skip image signing', default: true },
    { name: 'platform', kind: 'string', usage: 'Push a platform-specific manifest as a single-platform image to the registry', default: '' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress verbose output' },
  ],
  args: { kind: 'exact', n: 1 },
  async run(ctx, values, [name]) {
    let ref = parseRef(name!);
    if (ref.digest !== undefined) throw new StatusError('cannot push a digest reference', 1);
    if (values.allTags && ref.tag !== undefined) throw new StatusError('tag can\'t be used with --all-tags/-a', 1);
    if (!values.allTags && ref.tag === undefined) {
      ref = withDefaultTag(ref);
      if (!values.quiet) ctx.out('Using default tag: latest\n');
    }
    const registryAuth = await registryAuthHeader(configDir(ctx.globals.config), ref.domain);
    const progress = await ctx.client().imagePush(familiarName(ref), { ...(ref.tag ? { tag: ref.tag } : {}), registryAuth, platform: values.platform });
    await displayJsonMessages(progress, values.quiet ? quietTarget : ctx.stdout);
    if (values.quiet) ctx.out(`${familiarString(ref)}\n`);
    return 0;
  },
};

async function readLine(ctx: CliContext, prompt: string): Promise<string> {
  ctx.out(prompt);
  for await (const chunk of ctx.stdin) {
    return String(chunk).split('\n')[0]!.replace(/\r$/, '');
  }
  return '';
}

export const loginCommand: CommandImpl<{ username: string; password: string; passwordStdin: boolean }> = {
  flags: [
    { name: 'password', short: 'p', kind: 'string', usage: 'Password or Personal Access Token (PAT)' },
    { name: 'password-stdin', kind: 'bool', usage: 'Take the Password or Personal Access Token (PAT) from stdin' },
    { name: 'username', short: 'u', kind: 'string', usage: 'Username' },
  ],
  args: { kind: 'max', n: 1 },
  async run(ctx, values, [server]) {
    if (values.password && values.passwordStdin) throw new StatusError('--password and --password-stdin are mutually exclusive', 1);
    let password = values.password;
    if (values.passwordStdin) {
      if (!values.username) throw new StatusError('Must provide --username with --password-stdin', 1);
      const chunks: Buffer[] = [];
      for await (const c of ctx.stdin) chunks.push(Buffer.from(c as Buffer));
      password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    } else if (values.password) {
      ctx.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    }
    let username = values.username;
    if (!username) username = (await readLine(ctx, 'Username: ')).trim();
    if (!username) throw new StatusError('Error: Non-null Username Required', 1);
    if (!password) password = await readLine(ctx, 'Password: ');
    if (!password) throw new StatusError('Error: Password Required', 1);
    const address = server ? serverKey(server) : HUB_KEY;
    try {
      await ctx.client().registryLogin({ username, password, serveraddress: address });
    } catch (err) {
      throw new StatusError(describe(err), 1);
    }
    await storeCredentials(configDir(ctx.globals.config), { username, password, serveraddress: address });
    ctx.out('Login Succeeded\n');
    return 0;
  },
};

export const logoutCommand: CommandImpl<Record<string, never>> = {
  flags: [],
  args: { kind: 'max', n: 1 },
  async run(ctx, _values, [server]) {
    const key = server ? serverKey(server) : HUB_KEY;
    const had = await eraseCredentials(configDir(ctx.globals.config), key);
    if (!had) ctx.out(`Not logged in to ${key}\n`);
    else ctx.out(`Removing login credentials for ${key}\n`);
    return 0;
  },
};

export const saveCommand: CommandImpl<{ output: string; platform: string }> = {
  flags: [
    { name: 'output', short: 'o', kind: 'string', usage: 'Write to a file, instead of STDOUT' },
    { name: 'platform', kind: 'string', usage: 'Save only the given platform variant', default: '' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx, values, images) {
    if (!values.output && ctx.stdout.isTTY) throw new StatusError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
    const stream = await ctx.client().imageSave(images, { platform: values.platform });
    if (values.output) {
      const tmp = `${values.output}.berth-save-${process.pid}`;
      try {
        await pipeline(stream, createWriteStream(tmp, { mode: 0o644 }));
      } catch (err) {
        await import('node:fs/promises').then((f) => f.rm(tmp, { force: true }));
        throw new StatusError(`failed to save image: ${describe(err)}`, 1);
      }
      await import('node:fs/promises').then((f) => f.rename(tmp, values.output));
    } else {
      await pipeline(stream, ctx.stdout, { end: false });
    }
    return 0;
  },
};

export const loadCommand: CommandImpl<{ input: string; quiet: boolean; platform: string }> = {
  flags: [
    { name: 'input', short: 'i', kind: 'string', usage: 'Read from tar archive file, instead of STDIN' },
    { name: 'platform', kind: 'string', usage: 'Load only the given platform variant', default: '' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress the load output' },
  ],
  args: { kind: 'none' },
  async run(ctx, values) {
    let body: NodeJS.ReadableStream;
    if (values.input) {
      try {
        body = (await open(values.input, 'r')).createReadStream();
      } catch (err) {
        throw new StatusError(goPathError('open', values.input, err), 1);
      }
    } else {
      if (ctx.stdin.isTTY) throw new StatusError('requested load from stdin, but stdin is empty', 1);
      body = ctx.stdin;
    }
    const progress = await ctx.client().imageLoad(body, { quiet: values.quiet || !ctx.stdout.isTTY, platform: values.platform });
    await displayJsonMessages(progress, ctx.stdout);
    return 0;
  },
};
