import { spawn } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEFAULT_DOMAIN, DEFAULT_INDEX_SERVER_KEY, LEGACY_DEFAULT_DOMAIN } from '../../image/reference.js';

// Registry credentials in the docker CLI's config.json, so that berth and
// docker each read what the other wrote: `auths` entries keyed by server
// ("host[:port]", and Docker Hub's legacy v1 URL), base64 "user:password" in
// `auth`; or a credential helper (`credsStore`, per-registry `credHelpers`)
// spoken to over stdin/stdout as docker-credential-<name> expects.

/** The key Docker keeps Docker Hub's credentials under. */
export const HUB_KEY = DEFAULT_INDEX_SERVER_KEY;

export interface Credentials {
  username: string;
  password: string;
  serveraddress: string;
  identitytoken?: string;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

export function configDir(explicit?: string): string {
  return explicit || process.env.DOCKER_CONFIG || join(homedir(), '.docker');
}

/** The config.json key of a registry domain (docker.io is Docker Hub's legacy URL). */
export function serverKey(domain: string): string {
  const d = domain.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return d === DEFAULT_DOMAIN || d === LEGACY_DEFAULT_DOMAIN || d === '' ? HUB_KEY : d;
}

async function readConfig(dir: string): Promise<ConfigFile> {
  try {
    return JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as ConfigFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`loading config file ${join(dir, 'config.json')}: ${(err as Error).message}`);
  }
}

async function writeConfig(dir: string, cfg: ConfigFile): Promise<void> {
  const path = join(dir, 'config.json');
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
  await rename(tmp, path);
}

function helper(name: string, action: 'get' | 'store' | 'erase', input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${name}`, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', (err) => reject(new Error(`error getting credentials - err: ${err.message}`)));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(out.trim() || `docker-credential-${name} ${action} exited with ${code}`))));
    child.stdin.end(input);
  });
}

function helperFor(cfg: ConfigFile, key: string): string | undefined {
  return cfg.credHelpers?.[key] ?? cfg.credsStore;
}

export async function getCredentials(dir: string, domain: string): Promise<Credentials | undefined> {
  const key = serverKey(domain);
  const cfg = await readConfig(dir);
  const h = helperFor(cfg, key);
  if (h) {
    try {
      const got = JSON.parse(await helper(h, 'get', key)) as { Username: string; Secret: string };
      if (got.Username === '<token>') return { username: '', password: '', serveraddress: key, identitytoken: got.Secret };
      return { username: got.Username, password: got.Secret, serveraddress: key };
    } catch {
      return undefined;
    }
  }
  const entry = cfg.auths?.[key] ?? (key === HUB_KEY ? undefined : cfg.auths?.[`https://${key}`] ?? cfg.auths?.[`http://${key}`]);
  if (!entry) return undefined;
  let username = entry.username ?? '';
  let password = entry.password ?? '';
  if (entry.auth) {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i >= 0) {
      username = plain.slice(0, i);
      password = plain.slice(i + 1);
    }
  }
  const c: Credentials = { username, password, serveraddress: key };
  if (entry.identitytoken) c.identitytoken = entry.identitytoken;
  return c;
}

export async function storeCredentials(dir: string, c: Credentials): Promise<void> {
  const cfg = await readConfig(dir);
  const key = serverKey(c.serveraddress);
  const h = helperFor(cfg, key);
  if (h) {
    await helper(h, 'store', JSON.stringify({ ServerURL: key, Username: c.identitytoken ? '<token>' : c.username, Secret: c.identitytoken ?? c.password }));
    (cfg.auths ??= {})[key] = {};
  } else {
    const entry: { auth: string; identitytoken?: string } = { auth: Buffer.from(`${c.username}:${c.password}`).toString('base64') };
    if (c.identitytoken) entry.identitytoken = c.identitytoken;
    (cfg.auths ??= {})[key] = entry;
  }
  await writeConfig(dir, cfg);
}

/** Returns false when there was nothing stored for the server. */
export async function eraseCredentials(dir: string, server: string): Promise<boolean> {
  const cfg = await readConfig(dir);
  const key = serverKey(server);
  const had = cfg.auths?.[key] !== undefined;
  const h = helperFor(cfg, key);
  if (h) await helper(h, 'erase', key).catch(() => {});
  if (cfg.auths) delete cfg.auths[key];
  await writeConfig(dir, cfg);
  return had || h !== undefined;
}

/** X-Registry-Auth for a domain: base64url JSON of the stored credentials ("e30=" style empty object when none). */
export async function registryAuthHeader(dir: string, domain: string): Promise<string> {
  const c = await getCredentials(dir, domain);
  const body = c ? { username: c.username, password: c.password, serveraddress: c.serveraddress, ...(c.identitytoken ? { identitytoken: c.identitytoken } : {}) } : {};
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/** X-Registry-Config for a build: every stored credential by server key (base64 JSON), as docker's client sends it. */
export async function registryConfigHeader(dir: string): Promise<string> {
  const cfg = await readConfig(dir);
  const out: Record<string, Credentials> = {};
  for (const key of new Set([...Object.keys(cfg.auths ?? {}), ...Object.keys(cfg.credHelpers ?? {})])) {
    const c = await getCredentials(dir, key).catch(() => undefined);
    if (c) out[key] = c;
  }
  return Buffer.from(JSON.stringify(out)).toString('base64');
}
