import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { BerthError, ForbiddenError, InvalidParameterError, NotFoundError, UnauthorizedError, UnavailableError, errorMessage } from '../errors/index.js';
import { DEFAULT_DOMAIN } from '../image/index.js';
import { basicHeader, parseChallenges, type AuthConfig, type Challenge } from './auth.js';
import { certsFor, readBody, send } from './http.js';

// A conversation with one registry: which URL it answers on (https, or http
// for loopback and insecure-registries, as dockerd decides), and its auth:
// anonymous, Basic, or the Bearer token flow (WWW-Authenticate challenge ->
// token endpoint with service and scope -> cached per scope until expiry).

export interface RegistryConfig {
  /** daemon.json insecure-registries: host[:port] or CIDRs. */
  insecureRegistries: string[];
  /** daemon.json registry-mirrors: endpoints for docker.io. */
  registryMirrors: string[];
  /** Directory of HOST:PORT/ca.crt, Docker's certs.d. */
  certsDir?: string;
}

interface Token {
  value: string;
  expires: number;
}

/** Tokens per registry, credentials and scope; shared by every session of a daemon. */
const tokens = new Map<string, Token>();
/** The scheme+host that answered for a registry domain. */
const endpoints = new Map<string, URL>();
/** Registries that asked for Basic auth. */
const basicHosts = new Set<string>();

export interface SessionRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Scopes needed: "repository:name:pull" … */
  scopes?: string[];
  signal?: AbortSignal;
}

/** An error document of the distribution spec. */
export interface RegistryErrorBody {
  errors?: Array<{ code?: string; message?: string; detail?: unknown }>;
}

export class RegistryError extends BerthError {
  constructor(
    message: string,
    readonly status: number,
    readonly codes: string[],
  ) {
    super(message);
  }
}

function ipv4InCidr(ip: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (isIP(net!) !== 4 || isIP(ip) !== 4 || !(bits >= 0 && bits <= 32)) return false;
  const toInt = (a: string) => a.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (toInt(ip) & mask) === (toInt(net!) & mask);
}

function hostOnly(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const i = hostPort.lastIndexOf(':');
  return i > 0 && hostPort.indexOf(':') === i ? hostPort.slice(0, i) : hostPort;
}

/** dockerd's isSecureIndex: loopback (127.0.0.0/8, ::1, localhost) and listed registries speak plain HTTP too. */
export function isInsecure(hostPort: string, cfg: RegistryConfig): boolean {
  const host = hostOnly(hostPort);
  if (host === 'localhost' || host === '::1' || ipv4InCidr(host, '127.0.0.0/8')) return true;
  for (const entry of cfg.insecureRegistries) {
    if (entry === hostPort || entry === host) return true;
    if (entry.includes('/') && ipv4InCidr(host, entry)) return true;
  }
  return false;
}

export class RegistrySession {
  /** A stable key for the token cache: who is asking. */
  private readonly who: string;

  constructor(
    readonly domain: string,
    private readonly auth: AuthConfig,
    private readonly cfg: RegistryConfig,
  ) {
    this.who = `${auth.username ?? ''}:${auth.password ?? auth.identitytoken ?? ''}`;
  }

  /** The candidate base URLs, most preferred first. */
  private candidates(): URL[] {
    if (this.domain === DEFAULT_DOMAIN) {
      if (this.cfg.registryMirrors.length === 0) {
        throw new UnavailableError(`no endpoint configured for ${DEFAULT_DOMAIN}: berth needs registry-mirrors in daemon.json to reach it`);
      }
      return this.cfg.registryMirrors.map((m) => new URL(m.endsWith('/') ? m : `${m}/`));
    }
    const secure = new URL(`https://${this.domain}/`);
    if (!isInsecure(this.domain, this.cfg)) return [secure];
    return [secure, new URL(`http://${this.domain}/`)];
  }

  private async ping(signal?: AbortSignal): Promise<URL> {
    const known = endpoints.get(this.domain);
    if (known) return known;
    const candidates = this.candidates();
    const tls = await this.tls();
    const insecure = candidates.length > 1;
    // Each candidate is probed at once: a plain-HTTP server may never answer
    // a TLS hello (it waits for a request line), so waiting for https to
    // fail first could hang. https still wins when it answers in time.
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const probes = candidates.map((base) =>
      send({ method: 'GET', url: new URL('v2/', base), insecureTls: insecure, signal: ac.signal, ...tls }).then((res) => {
        res.resume();
        // "Client sent an HTTP request to an HTTPS server."
        if (base.protocol === 'http:' && res.statusCode === 400) throw new Error('server speaks https');
        return base;
      }),
    );
    try {
      const first = await Promise.any(probes.map((p, i) => p.then((b) => ({ b, i }))));
      let chosen = first.b;
      if (first.i > 0) {
        const better = await Promise.race([probes[0]!.catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), 250))]);
        if (better) chosen = better;
      }
      endpoints.set(this.domain, chosen);
      return chosen;
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      const last = (err as AggregateError).errors?.[candidates.length - 1] ?? err;
      throw new UnavailableError(`Get "${new URL('v2/', candidates[candidates.length - 1]!).href}": ${describeNetError(last)}`);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      ac.abort();
    }
  }

  private async tls(): Promise<{ ca?: Buffer[] }> {
    const ca = await certsFor(this.cfg.certsDir, this.domain);
    return ca ? { ca } : {};
  }

  /** The base URL ("http://127.0.0.1:5000/") the registry answers on. */
  async base(signal?: AbortSignal): Promise<URL> {
    return this.ping(signal);
  }

  private tokenKey(scopes: string[]): string {
    return `${this.domain}|${this.who}|${[...scopes].sort().join(' ')}`;
  }

  private authorization(scopes: string[]): string | undefined {
    const t = tokens.get(this.tokenKey(scopes));
    if (t && t.expires > Date.now()) return `Bearer ${t.value}`;
    if (basicHosts.has(this.domain)) return basicHeader(this.auth);
    if (this.auth.registrytoken) return `Bearer ${this.auth.registrytoken}`;
    return undefined;
  }

  /** Answers a challenge: fetches a token (Bearer) or notes Basic. Throws when it cannot. */
  async answer(challenges: Challenge[], scopes: string[], signal?: AbortSignal): Promise<void> {
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer?.params.realm) {
      await this.fetchToken(bearer, scopes, signal);
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      basicHosts.add(this.domain);
      if (!basicHeader(this.auth)) throw new UnauthorizedError('no basic auth credentials');
      return;
    }
    throw new UnauthorizedError('authentication required');
  }

  private async fetchToken(c: Challenge, scopes: string[], signal?: AbortSignal): Promise<void> {
    const realm = new URL(c.params.realm!);
    if (c.params.service) realm.searchParams.set('service', c.params.service);
    // The registry's own scope (from the challenge) joins what we asked for.
    const all = new Set(scopes);
    if (c.params.scope) for (const s of c.params.scope.split(' ')) all.add(s);
    for (const s of all) realm.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    const basic = basicHeader(this.auth);
    if (basic) headers['Authorization'] = basic;
    if (this.auth.identitytoken && !basic) {
      // An identity token is a refresh token for the OAuth2 form.
      realm.searchParams.set('grant_type', 'refresh_token');
    }
    let res: IncomingMessage;
    try {
      res = await send({ method: 'GET', url: realm, headers, ...(signal ? { signal } : {}), insecureTls: isInsecure(realm.host, this.cfg) });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new UnavailableError(`Get "${realm.origin}${realm.pathname}": ${describeNetError(err)}`);
    }
    const body = await readBody(res, 1 << 20);
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new UnauthorizedError(`unauthorized: ${registryErrorText(body) || 'incorrect username or password'}`);
    }
    if (res.statusCode !== 200) throw new UnavailableError(`token endpoint ${realm.origin}${realm.pathname} answered ${res.statusCode}`);
    let doc: { token?: string; access_token?: string; expires_in?: number };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch {
      throw new UnavailableError('unable to decode token response');
    }
    const value = doc.token ?? doc.access_token;
    if (!value) throw new UnavailableError('authorization server did not include a token in the response');
    // Docker's minimum lifetime is 60 s; keep a margin before expiry.
    const ttl = Math.max(60, doc.expires_in ?? 60);
    tokens.set(this.tokenKey(scopes), { value, expires: Date.now() + (ttl - 5) * 1000 });
  }

  /**
   * Sends a request to `path` (relative to /v2/), authenticating as the
   * registry asks. A 401 is answered once; after that the response is the
   * caller's to judge.
   */
  async request(path: string, r: SessionRequest = {}): Promise<IncomingMessage> {
    const base = await this.ping(r.signal);
    const url = /^https?:\/\//.test(path) ? new URL(path) : new URL(path.replace(/^\//, ''), new URL('v2/', base));
    const scopes = r.scopes ?? [];
    const tls = { insecureTls: isInsecure(this.domain, this.cfg), ...(await this.tls()) };
    for (let attempt = 0; ; attempt++) {
      const headers = { ...r.headers };
      const authz = this.authorization(scopes);
      if (authz) headers['Authorization'] = authz;
      let res: IncomingMessage;
      try {
        res = await send({ method: r.method ?? 'GET', url, headers, ...(r.body !== undefined ? { body: r.body } : {}), ...(r.signal ? { signal: r.signal } : {}), ...tls });
      } catch (err) {
        if (r.signal?.aborted) throw r.signal.reason ?? err;
        throw new UnavailableError(`${(r.method ?? 'GET').charAt(0)}${(r.method ?? 'GET').slice(1).toLowerCase()} "${url.href}": ${describeNetError(err)}`);
      }
      // A stream body cannot be sent twice: callers authenticate first.
      const replayable = r.body === undefined || Buffer.isBuffer(r.body);
      if (res.statusCode === 401 && attempt === 0 && replayable) {
        const challenges = parseChallenges(res.headers['www-authenticate']);
        res.resume();
        await this.answer(challenges, scopes, r.signal);
        continue;
      }
      return res;
    }
  }

  /** Logs in: GET /v2/ with the credentials, as dockerd's loginV2 does. */
  async login(signal?: AbortSignal): Promise<void> {
    const base = await this.ping(signal);
    const url = new URL('v2/', base);
    basicHosts.delete(this.domain);
    for (const k of tokens.keys()) if (k.startsWith(`${this.domain}|${this.who}|`)) tokens.delete(k);
    const res = await this.request('', { ...(signal ? { signal } : {}) }).catch((err: unknown) => {
      if (err instanceof UnauthorizedError) throw new UnauthorizedError(`Get "${url.href}": ${err.message}`);
      throw err;
    });
    res.resume();
    if (res.statusCode !== 200) {
      throw new UnauthorizedError(`login attempt to ${url.href} failed with status: ${res.statusCode} ${httpStatusText(res.statusCode ?? 0)}`);
    }
  }
}

export function httpStatusText(code: number): string {
  const texts: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };
  return texts[code] ?? '';
}

/** "code: message" of a registry's error document, as distribution's errcode prints it. */
export function registryErrorText(body: Buffer): string {
  try {
    const doc = JSON.parse(body.toString('utf8')) as RegistryErrorBody & { details?: string; message?: string };
    const e = doc.errors?.[0];
    if (e) return `${(e.code ?? 'unknown').toLowerCase().replace(/_/g, ' ')}: ${e.message ?? ''}`.trim();
    if (doc.details) return doc.details;
    if (doc.message) return doc.message;
  } catch {
    // Not JSON.
  }
  return body.toString('utf8').trim().slice(0, 200);
}

export function registryErrorCodes(body: Buffer): string[] {
  try {
    return ((JSON.parse(body.toString('utf8')) as RegistryErrorBody).errors ?? []).map((e) => e.code ?? '');
  } catch {
    return [];
  }
}

/** Turns a failed registry response into a typed error carrying its text. */
export async function failure(res: IncomingMessage, what: string): Promise<BerthError> {
  const body = await readBody(res, 1 << 20).catch(() => Buffer.alloc(0));
  const text = registryErrorText(body) || `${res.statusCode} ${httpStatusText(res.statusCode ?? 0)}`;
  const msg = `${what}: ${text}`;
  switch (res.statusCode) {
    case 401:
      return new UnauthorizedError(msg);
    case 403:
      return new ForbiddenError(msg);
    case 404:
      return new NotFoundError(msg);
    case 400:
      return new InvalidParameterError(msg);
    default:
      return new RegistryError(msg, res.statusCode ?? 0, registryErrorCodes(body));
  }
}

function describeNetError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ECONNREFUSED') return `dial tcp ${e.message.replace(/^.*ECONNREFUSED\s*/, '')}: connect: connection refused`;
  return errorMessage(err);
}
