import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';

// A scriptable stand-in for berthd in unit tests: an HTTP server on a
// temporary UNIX socket that records requests and answers from handlers,
// including hijacked (101 Upgrade) connections.

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface FakeContext {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  params: string[];
  body: Buffer;
  json(): any;
}

export type FakeHandler = (ctx: FakeContext) => void | Promise<void>;
export type HijackHandler = (socket: Duplex, ctx: { query: URLSearchParams; params: string[]; path: string }) => void | Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  handler?: FakeHandler;
  hijack?: HijackHandler;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** An 8-byte-header frame of the multiplexed stream. */
export function frame(stream: number, data: string | Buffer): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export class FakeEngine {
  readonly requests: RecordedRequest[] = [];
  private readonly routes: Route[] = [];
  private readonly hijacked = new Set<Duplex>();
  private server!: Server;
  private dir!: string;

  get socketPath(): string {
    return join(this.dir, 'engine.sock');
  }

  get host(): string {
    return `unix://${this.socketPath}`;
  }

  static async start(): Promise<FakeEngine> {
    const engine = new FakeEngine();
    engine.dir = await mkdtemp(join(tmpdir(), 'berth-fake-engine-'));
    engine.server = createServer((req, res) => void engine.handle(req, res));
    engine.server.on('upgrade', (req, socket, head) => void engine.upgrade(req, socket, head));
    await new Promise<void>((resolve) => engine.server.listen(engine.socketPath, resolve));
    return engine;
  }

  async stop(): Promise<void> {
    for (const socket of this.hijacked) socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Routes match the path without the /v1.xx prefix; `pattern` is anchored, `([^/]+)` captures params. */
  on(method: string, pattern: string, handler: FakeHandler): this {
    // Later routes win, so a test can override what a scenario set up.
    this.routes.unshift({ method, pattern: new RegExp(`^${pattern}$`), handler });
    return this;
  }

  onHijack(pattern: string, hijack: HijackHandler): this {
    this.routes.unshift({ method: 'POST', pattern: new RegExp(`^${pattern}$`), hijack });
    return this;
  }

  /** Requests whose path (unversioned) matches. */
  calls(method: string, pattern: string): RecordedRequest[] {
    const re = new RegExp(`^${pattern}$`);
    return this.requests.filter((r) => r.method === method && re.test(r.path));
  }

  private find(method: string, path: string): { route: Route; params: string[] } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (m) return { route, params: m.slice(1).map(decodeURIComponent) };
    }
    return undefined;
  }

  private parse(req: IncomingMessage): { path: string; query: URLSearchParams } {
    const url = new URL(req.url ?? '/', 'http://fake');
    return { path: url.pathname.replace(/^\/v\d+\.\d+/, ''), query: url.searchParams };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, query } = this.parse(req);
    const body = await readBody(req);
    this.requests.push({ method: req.method ?? 'GET', path, query, headers: req.headers, body });
    const found = this.find(req.method ?? 'GET', path);
    if (!found?.route.handler) {
      sendJson(res, 404, { message: 'page not found' });
      return;
    }
    try {
      await found.route.handler({ req, res, query, params: found.params, body, json: () => JSON.parse(body.toString('utf8')) });
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { message: (err as Error).message });
      else res.destroy();
    }
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { path, query } = this.parse(req);
    this.requests.push({ method: req.method ?? 'POST', path, query, headers: req.headers, body: Buffer.alloc(0) });
    const found = this.find(req.method ?? 'POST', path);
    if (!found?.route.hijack) {
      const text = JSON.stringify({ message: 'page not found' });
      socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
      return;
    }
    this.hijacked.add(socket);
    socket.once('close', () => this.hijacked.delete(socket));
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    if (head.length) socket.unshift(head);
    await found.route.hijack(socket, { query, params: found.params, path });
  }
}
