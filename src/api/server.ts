import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { Duplex, Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { chmod, chown, unlink, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InvalidParameterError, errorMessage } from '../errors/index.js';
import { statusForError } from './status.js';
import type { ApiContext, Router } from './router.js';

export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';

/** Certificates for a TCP listener; with `verify`, only clients whose certificate `ca` signed get in. */
export interface TlsListenOptions {
  key: Buffer;
  cert: Buffer;
  ca?: Buffer;
  verify: boolean;
}

/** What a TLS port answers to a plain HTTP request (Go's net/http words, which docker clients know). */
const PLAIN_HTTP_ON_TLS = 'HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';
/** How long a TCP client may stay silent before its first byte. */
const FIRST_BYTE_TIMEOUT_MS = 60_000;
/** First byte of a TLS record carrying a handshake. */
const TLS_HANDSHAKE = 0x16;

export interface ApiServerOptions {
  router: Router;
  /** Version string for the Server header. */
  engineVersion: string;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

/** Compares API versions such as "1.41" and "1.47" numerically. */
export function compareVersions(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number) as [number, number];
  const [b1, b2] = b.split('.').map(Number) as [number, number];
  return a1 - b1 || a2 - b2;
}

/**
 * Serves the Engine API over HTTP/1.1 on UNIX sockets (and TCP when asked).
 * Translates HTTP to route handlers and typed errors back to Docker's JSON
 * error bodies; knows nothing about containers or images.
 */
export class ApiServer {
  private readonly servers: Array<Server | NetServer> = [];
  private readonly sockets = new Set<Socket>();

  constructor(private readonly o: ApiServerOptions) {}

  private newServer(tls?: TlsListenOptions): Server {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      void this.handle(req, res, undefined, undefined);
    };
    const options = { requestTimeout: 0, keepAliveTimeout: 60_000 };
    const server: Server = tls
      ? createHttpsServer({ ...options, key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: tls.verify, rejectUnauthorized: tls.verify }, handler)
      : createServer(options, handler);
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const res = new ServerResponse(req);
      res.assignSocket(socket);
      void this.handle(req, res, socket, head);
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    });
    this.servers.push(server);
    return server;
  }

  /** Listens on a UNIX socket: mode 0660, group `gid` (the daemon's own when undefined), as dockerd. */
  async listenUnix(path: string, opts: { mode?: number; gid?: number } = {}): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await unlink(path).catch(() => {});
    const server = this.newServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    if (opts.gid !== undefined) await chown(path, process.getuid?.() ?? 0, opts.gid);
    await chmod(path, opts.mode ?? 0o660);
  }

  /** Listens on TCP, with TLS when `tls` is given. Returns the port (useful with port 0). */
  async listenTcp(host: string, port: number, tls?: TlsListenOptions): Promise<number> {
    const http = this.newServer(tls);
    let server: Server | NetServer = http;
    if (tls) {
      // A plain HTTP client on the TLS port gets a readable answer instead of a dropped connection.
      // Half-open like the HTTP server: the docker CLI shuts its write side after attach (no stdin) and still reads.
      server = createNetServer({ allowHalfOpen: true }, (socket) => {
        // A client that connects and says nothing is not kept forever (the HTTP server's own timeouts start later).
        socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
        socket.once('data', (first: Buffer) => {
          socket.setTimeout(0);
          socket.pause();
          if (first[0] !== TLS_HANDSHAKE) {
            socket.end(PLAIN_HTTP_ON_TLS);
            return;
          }
          // Paused with the bytes put back: the TLS socket takes them from the buffer first.
          socket.unshift(first);
          http.emit('connection', socket);
        });
        socket.on('error', () => socket.destroy());
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
      });
      this.servers.push(server);
    }
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(port, host, () => resolve());
    });
    const address = listening.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  async close(): Promise<void> {
    const closing = this.servers.filter((s) => s.listening).map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    // Long-lived streams (events, logs -f, attach) would hold close() forever.
    for (const s of this.sockets) s.destroy();
    await Promise.all(closing);
  }

  private async handle(req: IncomingMessage, res: ServerResponse, upgradeSocket: Socket | undefined, head: Buffer | undefined): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://berth');
    let path = url.pathname;
    let version = API_VERSION;
    const vm = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
    if (vm) {
      version = vm[1]!;
      path = vm[2]!;
    }
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Ostype', 'linux');
    res.setHeader('Server', `Docker/${this.o.engineVersion} (linux)`);

    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort(new Error('client disconnected'));
    };
    res.on('close', onClose);
    upgradeSocket?.on('close', () => abort.abort(new Error('client disconnected')));
    let hijacked = false;

    try {
      if (vm && compareVersions(version, API_VERSION) > 0) {
        throw new InvalidParameterError(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
      }
      if (vm && compareVersions(version, MIN_API_VERSION) < 0) {
        throw new InvalidParameterError(`client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      }
      const method = req.method ?? 'GET';
      const found = this.o.router.match(method, path);
      if (!found.handler) {
        // An upgrade nobody serves (buildx probing /grpc, /session) gets its 404 and the connection closes.
        if (upgradeSocket) res.setHeader('Connection', 'close');
        this.sendError(res, found.pathExists && method !== 'OPTIONS' ? 405 : 404, found.pathExists ? 'method not allowed' : 'page not found');
        upgradeSocket?.end();
        return;
      }
      let bodyPromise: Promise<Buffer> | undefined;
      const readBody = () => (bodyPromise ??= upgradeSocket ? readUpgradeBody(req, upgradeSocket, head!) : readAll(req));
      const ctx: ApiContext = {
        req,
        res,
        params: found.params,
        query: url.searchParams,
        version,
        signal: abort.signal,
        upgrade: upgradeSocket !== undefined,
        async json<T>() {
          const body = await readBody();
          if (body.length === 0) return undefined;
          try {
            return JSON.parse(body.toString('utf8')) as T;
          } catch (err) {
            throw new InvalidParameterError(`invalid JSON: ${errorMessage(err)}`);
          }
        },
        hijack(contentType = 'application/vnd.docker.raw-stream') {
          hijacked = true;
          if (upgradeSocket) {
            res.detachSocket(upgradeSocket);
            upgradeSocket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: ${API_VERSION}\r\n\r\n`);
            if (head && head.length && !bodyPromise) upgradeSocket.unshift(head);
            upgradeSocket.setNoDelay(true);
            return upgradeSocket;
          }
          // Without an upgrade the output is the response body; there is no stdin.
          res.writeHead(200, { 'Content-Type': contentType });
          res.flushHeaders();
          return Duplex.from({ readable: Readable.from([]), writable: res });
        },
      };
      // An upgraded request's body (dockerode sends its attach options as JSON) is HTTP body, never
      // stream input: take it off the socket before a handler hijacks it, as dockerd never hands it on.
      if (upgradeSocket && Number(req.headers['content-length'] ?? 0) > 0) await readBody();
      await found.handler(ctx);
      if (!hijacked && !res.headersSent) res.writeHead(204).end();
      else if (!hijacked && !res.writableEnded) res.end();
    } catch (err) {
      const status = statusForError(err);
      const message = errorMessage(err);
      if (status >= 500) this.o.log('error', `${req.method} ${req.url}: ${message}`);
      else this.o.log('debug', `${req.method} ${req.url}: ${status} ${message}`);
      if (hijacked) {
        upgradeSocket?.end();
        if (!upgradeSocket) res.end();
      } else if (!res.headersSent) {
        this.sendError(res, status, message);
      } else {
        // Headers are out (a stream had begun): all we can do is end it.
        res.end();
      }
    }
  }

  private sendError(res: ServerResponse, status: number, message: string): void {
    if (status === 304) {
      res.writeHead(304).end();
      return;
    }
    const body = JSON.stringify({ message }) + '\n';
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}

function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** For upgraded requests Node hands over the socket unparsed: read Content-Length bytes ourselves. */
function readUpgradeBody(req: IncomingMessage, socket: Socket, head: Buffer): Promise<Buffer> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (!length) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    let buf = head;
    const finish = () => {
      socket.off('data', onData);
      socket.off('error', reject);
      const rest = buf.subarray(length);
      // Paused: whoever reads the stream next (stdin forwarding) resumes it.
      socket.pause();
      if (rest.length) socket.unshift(rest);
      resolve(buf.subarray(0, length));
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= length) finish();
    };
    if (buf.length >= length) return finish();
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

