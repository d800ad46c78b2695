import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import bcrypt from 'bcryptjs';
import { BERTH } from './daemon.js';

// Registries on loopback for the tests: the reference one (Debian's
// docker-registry), berth's own (`berth registry serve`), and a token server
// of the tests' own in front of a registry, speaking Docker Hub's Bearer flow.
// Each runs on a free port with temporary storage and is stopped by its PID.

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function waitForHttp(url: string, proc: ChildProcess | undefined, log: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = httpRequest(url, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer: ${log()}`);
}

export interface TestRegistry {
  /** host:port */
  host: string;
  port: number;
  dir: string;
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

async function stopProc(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  process.kill(proc.pid!, 'SIGTERM');
  const timer = setTimeout(() => proc.exitCode === null && process.kill(proc.pid!, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function htpasswdLine(user: string, password: string): Promise<string> {
  return `${user}:${bcrypt.hashSync(password, 5)}`;
}

/** The reference registry (docker-registry 2.8) on a random loopback port; htpasswd auth if users are given. */
export async function startReferenceRegistry(opts: { users?: Record<string, string> } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-refreg-'));
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (opts.users) {
    const entries = await Promise.all(Object.entries(opts.users).map(([u, p]) => htpasswdLine(u, p)));
    await writeFile(join(dir, 'htpasswd'), entries.join('\n') + '\n');
    lines.push('auth:', '  htpasswd:', '    realm: test-realm', `    path: ${join(dir, 'htpasswd')}`);
  }
  await writeFile(join(dir, 'config.yml'), lines.join('\n') + '\n');
  const proc = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  return registryProcess(proc, dir, port);
}

/** Waits for a registry process to answer on `port`; it and `dir` go on failure or stop(). */
async function registryProcess(proc: ChildProcess, dir: string, port: number): Promise<TestRegistry> {
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  try {
    await waitForHttp(`http://127.0.0.1:${port}/v2/`, proc, () => out);
  } catch (err) {
    await stopProc(proc);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    dir,
    pid: proc.pid!,
    log: () => out,
    async stop() {
      await stopProc(proc);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** berth's own registry server (`berth registry serve`) on a random loopback port. */
export async function startBerthRegistry(opts: { users?: Record<string, string>; maxUploadSize?: number } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-reg-'));
  const port = await freePort();
  const args = [BERTH, 'registry', 'serve', '--addr', `127.0.0.1:${port}`, '--root', join(dir, 'data')];
  if (opts.users) {
    const entries = await Promise.all(Object.entries(opts.users).map(([u, p]) => htpasswdLine(u, p)));
    await writeFile(join(dir, 'htpasswd'), entries.join('\n') + '\n');
    args.push('--htpasswd', join(dir, 'htpasswd'));
  }
  if (opts.maxUploadSize) args.push('--max-upload-size', String(opts.maxUploadSize));
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return registryProcess(proc, dir, port);
}

export interface TokenProxy {
  host: string;
  /** Every scope a token was asked for, as "scope" strings. */
  scopesRequested: string[];
  /** Requests that reached the registry with a valid token. */
  authorized: number;
  stop(): Promise<void>;
}

/**
 * A registry front with Docker Hub's auth: without a Bearer token it answers
 * 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`; its /token
 * endpoint checks Basic credentials and grants the requested scopes (pull
 * for anyone when `anonymousPull`, push only to the user). Requests with a
 * token that covers their repository and action go through to `upstream`.
 */
export async function startTokenProxy(upstream: string, users: Record<string, string>, opts: { anonymousPull?: boolean } = {}): Promise<TokenProxy> {
  const grants = new Map<string, Set<string>>();
  const state: TokenProxy = { host: '', scopesRequested: [], authorized: 0, stop: async () => {} };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token') {
      const scopes = url.searchParams.getAll('scope');
      state.scopesRequested.push(...scopes);
      let user: string | undefined;
      const h = req.headers.authorization;
      if (h?.startsWith('Basic ')) {
        const [u, ...p] = Buffer.from(h.slice(6), 'base64').toString().split(':');
        if (users[u!] === undefined || users[u!] !== p.join(':')) {
          res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ details: 'incorrect username or password' }));
          return;
        }
        user = u;
      }
      const granted = new Set<string>();
      for (const s of scopes) {
        const [type, repo, actions] = s.split(':');
        if (type !== 'repository') continue;
        for (const a of actions!.split(',')) {
          if (a === 'pull' && (user || opts.anonymousPull)) granted.add(`${repo}:pull`);
          if (a === 'push' && user) granted.add(`${repo}:push`);
        }
      }
      const token = randomBytes(16).toString('hex');
      grants.set(token, granted);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
      return;
    }
    const challenge = (scope?: string) =>
      `Bearer realm="http://${state.host}/token",service="test-registry"${scope ? `,scope="${scope}"` : ''}`;
    const m = /^\/v2\/(.+?)\/(blobs|manifests|tags)\//.exec(url.pathname);
    const repo = m?.[1];
    const action = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
    const auth = req.headers.authorization;
    const granted = auth?.startsWith('Bearer ') ? grants.get(auth.slice(7)) : undefined;
    const ok = granted !== undefined && (!repo || granted.has(`${repo}:${action}`));
    if (!ok) {
      req.resume();
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': challenge(repo ? `repository:${repo}:${action === 'push' ? 'pull,push' : 'pull'}` : undefined) });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] }));
      return;
    }
    state.authorized++;
    const headers = { ...req.headers };
    delete headers.authorization;
    const up = httpRequest(`http://${upstream}${req.url}`, { method: req.method, headers }, (ures: IncomingMessage) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.stop = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return state;
}

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** Uploads a blob to a registry (monolithic POST+PUT). */
export async function putBlob(host: string, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const loc = await new Promise<string>((resolve, reject) => {
    const req = httpRequest(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'Content-Length': '0' } }, (res) => {
      res.resume();
      if (res.statusCode !== 202) reject(new Error(`POST upload: ${res.statusCode}`));
      else resolve(res.headers.location!);
    });
    req.on('error', reject);
    req.end();
  });
  const url = new URL(loc, `http://${host}`);
  url.searchParams.set('digest', digest);
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest(url, { method: 'PUT', headers: { 'Content-Length': String(data.length), 'Content-Type': 'application/octet-stream' } }, (res) => {
      res.resume();
      if (res.statusCode !== 201) reject(new Error(`PUT blob: ${res.statusCode}`));
      else resolve();
    });
    req.on('error', reject);
    req.end(data);
  });
  return digest;
}

export async function putManifest(host: string, repo: string, ref: string, mediaType: string, body: Buffer): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest(`http://${host}/v2/${repo}/manifests/${ref}`, { method: 'PUT', headers: { 'Content-Type': mediaType, 'Content-Length': String(body.length) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`PUT manifest: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
  return sha256(body);
}
