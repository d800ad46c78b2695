import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

// A route table in moby's style: method, path pattern, handler. Handlers
// parse, call a backend, write the answer, and *throw* typed errors; the
// server turns those into Docker's JSON error bodies.

export interface ApiContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** API version the client asked for ("1.47" when unversioned). */
  version: string;
  /** Aborted when the client hangs up. */
  signal: AbortSignal;
  /** Parsed JSON body; InvalidParameterError on malformed JSON. */
  json<T>(): Promise<T | undefined>;
  /**
   * Takes over the connection for a raw stream (attach, exec start): answers
   * 101 UPGRADED when the client asked to upgrade, else a 200 with the raw
   * stream content type. Returns the duplex socket.
   */
  hijack(contentType?: string): Duplex;
  /** True when the client sent Upgrade: tcp. */
  upgrade: boolean;
}

export type Handler = (ctx: ApiContext) => Promise<void>;

export interface Route {
  method: string;
  path: string;
  handler: Handler;
}

interface CompiledRoute {
  method: string;
  regex: RegExp;
  keys: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(routes: Route[]): this {
    for (const r of routes) {
      const keys: string[] = [];
      // {name:.*} matches slashes (image names have them); {id} does not.
      const source = r.path.replace(/\{(\w+)(:\.\*)?\}/g, (_m, key: string, greedy?: string) => {
        keys.push(key);
        return greedy ? '(.+)' : '([^/]+)';
      });
      this.routes.push({ method: r.method, regex: new RegExp(`^${source}$`), keys, handler: r.handler });
    }
    return this;
  }

  /** Finds the handler; `pathExists` tells 404 from 405 apart. */
  match(method: string, path: string): { handler?: Handler; params: Record<string, string>; pathExists: boolean } {
    let pathExists = false;
    for (const r of this.routes) {
      const m = r.regex.exec(path);
      if (!m) continue;
      pathExists = true;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1]!)));
      return { handler: r.handler, params, pathExists };
    }
    return { params: {}, pathExists };
  }
}
