import { InvalidParameterError } from '../errors/index.js';

// Credentials as clients send them (X-Registry-Auth, POST /auth bodies) and
// the WWW-Authenticate challenges registries answer with.

export interface AuthConfig {
  username?: string;
  password?: string;
  /** base64 of "user:password", as config.json keeps it. */
  auth?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** X-Registry-Auth: base64url (or std base64) of the JSON AuthConfig; empty means anonymous. */
export function decodeRegistryAuth(header: string | undefined): AuthConfig {
  if (!header) return {};
  let text: string;
  try {
    text = Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object') return {};
    const a = parsed as Record<string, unknown>;
    const out: AuthConfig = {};
    for (const k of ['username', 'password', 'auth', 'serveraddress', 'identitytoken', 'registrytoken'] as const) {
      const v = a[k] ?? a[k[0]!.toUpperCase() + k.slice(1)];
      if (typeof v === 'string' && v !== '') out[k] = v;
    }
    return withUserPassword(out);
  } catch {
    // Docker ignores an auth header it cannot decode and goes anonymous.
    return {};
  }
}

/** Fills username/password from `auth` when only that is given. */
export function withUserPassword(a: AuthConfig): AuthConfig {
  if ((!a.username || !a.password) && a.auth) {
    const plain = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) return { ...a, username: plain.slice(0, i), password: plain.slice(i + 1) };
  }
  return a;
}

export interface Challenge {
  scheme: 'bearer' | 'basic' | string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (one challenge per header value). */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  const out: Challenge[] = [];
  for (const value of values) {
    const m = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*(.*)$/.exec(value);
    if (!m) continue;
    const params: Record<string, string> = {};
    const re = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
    for (let p: RegExpExecArray | null; (p = re.exec(m[2]!)) !== null; ) {
      params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    }
    out.push({ scheme: m[1]!.toLowerCase(), params });
  }
  return out;
}

export function basicHeader(a: AuthConfig): string | undefined {
  if (!a.username || a.password === undefined) return undefined;
  return 'Basic ' + Buffer.from(`${a.username}:${a.password}`).toString('base64');
}

export function requireCredentials(a: AuthConfig): void {
  if (!a.username && !a.identitytoken) throw new InvalidParameterError('Username is required');
}
