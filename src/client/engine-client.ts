import { Agent, request as plainRequest, type ClientRequest, type IncomingMessage, type RequestOptions as HttpRequestOptions } from 'node:http';
import { Agent as TlsAgent, request as tlsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerSummary,
  ContainerWaitResponse,
  ImageDeleteResponseItem,
  ImageHistoryItem,
  ImageInspect,
  ImageSummary,
  SystemInfo,
  SystemVersion,
} from '../types/engine.js';
import type { ExecCreateRequest, ExecInspect, ExecStartRequest } from '../types/exec.js';
import type { ContainerTopResponse } from '../types/stats.js';
import type { SystemDfResponse, Volume, VolumeCreateOptions, VolumeListResponse, VolumePruneResponse } from '../types/volume.js';
import { ApiError, DaemonUnreachableError, isConnectFailure } from './errors.js';
import { DEFAULT_HOST, parseHost, type DaemonAddress } from './host.js';
import type { ClientTls } from './tls.js';

// The Engine API client: JSON requests, streamed responses and hijacked
// connections over a UNIX socket or TCP, with docker's versioned paths.

export const CLIENT_API_VERSION = '1.47';

export type QueryValue = string | number | boolean | undefined | null | string[];
export type Query = Record<string, QueryValue>;
export type Filters = Record<string, string[]>;

export interface EngineClientOptions {
  /** docker host syntax: `unix:///path`, `tcp://host:port`. */
  host?: string;
  apiVersion?: string;
  /**
   * Called (once) when the daemon does not answer. Resolve true to retry the
   * request, e.g. after starting the daemon; false lets the error through.
   */
  onUnreachable?: (err: DaemonUnreachableError) => Promise<boolean>;
  userAgent?: string;
  /** TLS for a TCP host (ignored for UNIX sockets, as docker does). */
  tls?: ClientTls;
}

export interface RequestOptions {
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (a tar to import, …). */
  rawBody?: Buffer | NodeJS.ReadableStream;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A connection taken over after `101 UPGRADED`: raw bytes both ways. */
export interface HijackedConnection {
  socket: Duplex;
  /** `application/vnd.docker.raw-stream` (TTY) or `…multiplexed-stream`. */
  contentType: string;
  /** Half-closes our side: the daemon sees EOF on the container's stdin. */
  closeWrite(): void;
  close(): void;
}

export interface ContainerWaitHandle {
  /** Settles with the body, which the daemon sends when the condition is met. */
  result: Promise<ContainerWaitResponse>;
  cancel(): void;
}

export interface LogsOptions {
  stdout?: boolean;
  stderr?: boolean;
  follow?: boolean;
  timestamps?: boolean;
  details?: boolean;
  since?: string;
  until?: string;
  tail?: string;
  signal?: AbortSignal;
}

export interface AttachOptions {
  stream?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  logs?: boolean;
  detachKeys?: string;
}

export function encodeQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === false) continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, v);
    else params.append(key, value === true ? '1' : String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The `filters` query parameter: JSON `{"key":["v",…]}`, omitted when empty. */
export function encodeFilters(filters: Filters | undefined): string | undefined {
  if (!filters || Object.keys(filters).length === 0) return undefined;
  return JSON.stringify(filters);
}

export class EngineClient {
  readonly address: DaemonAddress;
  readonly apiVersion: string;
  private readonly agent: Agent;
  private readonly tls: ClientTls | undefined;
  private readonly userAgent: string;
  private onUnreachable: EngineClientOptions['onUnreachable'];
  private reachable = false;

  constructor(options: EngineClientOptions = {}) {
    this.address = parseHost(options.host ?? DEFAULT_HOST, { tls: options.tls !== undefined });
    this.apiVersion = options.apiVersion ?? CLIENT_API_VERSION;
    this.onUnreachable = options.onUnreachable;
    this.userAgent = options.userAgent ?? 'berth-cli';
    this.tls = this.address.kind === 'tcp' ? options.tls : undefined;
    this.agent = this.tls ? new TlsAgent({ keepAlive: true, ...this.tlsOptions() }) : new Agent({ keepAlive: true });
  }

  private tlsOptions() {
    const t = this.tls!;
    return { ca: t.ca, cert: t.cert, key: t.key, rejectUnauthorized: t.verify };
  }

  /** http or https, with the TLS options on requests that bypass the pool. */
  private httpRequest(options: HttpRequestOptions): ClientRequest {
    if (!this.tls) return plainRequest(options);
    return tlsRequest(options.agent === false ? { ...options, ...this.tlsOptions() } : options);
  }

  /** The host as docker prints it in messages (`unix:///run/berth/berth.sock`). */
  get host(): string {
    return this.address.url;
  }

  /** Lets idle keep-alive sockets go so the process can exit. */
  close(): void {
    this.agent.destroy();
  }

  // ---- transport -------------------------------------------------------

  private versioned(path: string): string {
    return path.startsWith('/_ping') ? path : `/v${this.apiVersion}${path}`;
  }

  private connectionOptions(): HttpRequestOptions {
    return this.address.kind === 'unix'
      ? { socketPath: this.address.socketPath }
      : { host: this.address.host, port: this.address.port };
  }

  private send(method: string, path: string, opts: RequestOptions, extra: HttpRequestOptions = {}): Promise<{ req: ClientRequest; res: IncomingMessage }> {
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...opts.headers };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] ??= 'application/json';
    } else if (Buffer.isBuffer(opts.rawBody)) {
      payload = opts.rawBody;
    }
    if (payload) headers['Content-Length'] = String(payload.length);
    const stream = opts.rawBody && !Buffer.isBuffer(opts.rawBody) ? opts.rawBody : undefined;
    return new Promise((resolve, reject) => {
      const req = this.httpRequest({
        ...this.connectionOptions(),
        agent: this.agent,
        method,
        path: this.versioned(path) + encodeQuery(opts.query),
        headers,
        signal: opts.signal,
        ...extra,
      });
      req.once('response', (res) => {
        this.reachable = true;
        resolve({ req, res });
      });
      req.once('error', (err) => reject(this.translateError(err)));
      if (stream) {
        stream.once('error', (err) => req.destroy(err));
        stream.pipe(req);
      } else {
        req.end(payload);
      }
    });
  }

  private translateError(err: unknown): unknown {
    if (isConnectFailure(err)) return new DaemonUnreachableError(this.host, err.code, { cause: err });
    // TLS failures (no client certificate, unknown CA, wrong name) in docker's words, not OpenSSL's.
    if (this.tls && err instanceof Error) {
      const e = err as Error & { code?: string; reason?: string };
      if (e.code?.startsWith('ERR_SSL') || e.code?.startsWith('ERR_TLS') || /CERT|SIGNATURE|ISSUER/.test(e.code ?? '')) {
        return new Error(`error during connect: ${this.host}: tls: ${e.reason ?? e.message}`, { cause: err });
      }
    }
    return err;
  }

  /** Sends a request, retrying once through `onUnreachable` if the daemon is not there. */
  private async sendWithRecovery(method: string, path: string, opts: RequestOptions, extra?: HttpRequestOptions) {
    const streamed = opts.rawBody !== undefined && !Buffer.isBuffer(opts.rawBody);
    // A streamed body cannot be sent twice: make sure someone listens first.
    if (streamed && !this.reachable && this.onUnreachable) await this.ping();
    try {
      return await this.send(method, path, opts, extra);
    } catch (err) {
      if (!(err instanceof DaemonUnreachableError) || streamed || !(await this.recover(err))) throw err;
      return this.send(method, path, opts, extra);
    }
  }

  private async recover(err: DaemonUnreachableError): Promise<boolean> {
    const hook = this.onUnreachable;
    if (!hook) return false;
    this.onUnreachable = undefined;
    return hook(err);
  }

  /** Opens a request and returns the response for streaming; non-2xx becomes ApiError. */
  async open(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const { res } = await this.sendWithRecovery(method, path, opts);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw await errorFromResponse(res, this.versioned(path));
    return res;
  }

  /** A JSON request: resolves with the parsed body (undefined when empty). */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const { text } = await this.requestText(method, path, opts);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Like request(), but also returns the body text exactly as the daemon sent it. */
  async requestText(method: string, path: string, opts: RequestOptions = {}): Promise<{ status: number; text: string }> {
    const res = await this.open(method, path, opts);
    const text = (await readAll(res)).toString('utf8');
    return { status: res.statusCode ?? 0, text };
  }

  /**
   * POST with `Connection: Upgrade` / `Upgrade: tcp`: after the daemon's 101
   * the socket carries raw bytes both ways (attach, exec start).
   */
  async hijack(path: string, opts: RequestOptions = {}): Promise<HijackedConnection> {
    if (!this.reachable && this.onUnreachable) await this.ping();
    const body = opts.body !== undefined ? Buffer.from(JSON.stringify(opts.body)) : undefined;
    return new Promise((resolve, reject) => {
      const req = this.httpRequest({
        ...this.connectionOptions(),
        // The socket leaves HTTP for good: never let the pool reuse it.
        agent: false,
        method: 'POST',
        path: this.versioned(path) + encodeQuery(opts.query),
        headers: {
          'User-Agent': this.userAgent, 'Content-Type': body ? 'application/json' : 'text/plain', Connection: 'Upgrade', Upgrade: 'tcp',
          ...(body ? { 'Content-Length': String(body.length) } : {}), ...opts.headers,
        },
        signal: opts.signal,
      });
      req.once('upgrade', (res, socket, head) => {
        this.reachable = true;
        socket.setNoDelay(true);
        if (head.length) socket.unshift(head);
        resolve({
          socket,
          contentType: String(res.headers['content-type'] ?? ''),
          closeWrite: () => socket.end(),
          close: () => socket.destroy(),
        });
      });
      req.once('response', (res) => {
        this.reachable = true;
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          errorFromResponse(res, this.versioned(path)).then(reject, reject);
          return;
        }
        // A daemon that answers 200 instead of upgrading streams the output
        // as the response body; there is no way to send stdin then.
        resolve({
          socket: res as unknown as Duplex,
          contentType: String(res.headers['content-type'] ?? ''),
          closeWrite: () => {},
          close: () => res.destroy(),
        });
      });
      req.once('error', (err) => reject(this.translateError(err)));
      req.end(body);
    });
  }

  // ---- system ----------------------------------------------------------

  async ping(): Promise<{ apiVersion?: string; osType?: string }> {
    const { res } = await this.sendWithRecovery('GET', '/_ping', {});
    await readAll(res);
    if ((res.statusCode ?? 0) >= 400) throw new ApiError(res.statusCode ?? 0, 'ping failed');
    const header = (name: string) => {
      const v = res.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    return { apiVersion: header('api-version'), osType: header('ostype') };
  }

  version(): Promise<SystemVersion> {
    return this.request('GET', '/version');
  }

  info(): Promise<SystemInfo> {
    return this.request('GET', '/info');
  }

  events(opts: { since?: string; until?: string; filters?: Filters; signal?: AbortSignal } = {}): Promise<IncomingMessage> {
    return this.open('GET', '/events', {
      query: { since: opts.since, until: opts.until, filters: encodeFilters(opts.filters) },
      signal: opts.signal,
    });
  }

  // ---- containers ------------------------------------------------------

  containerCreate(body: ContainerCreateRequest, opts: { name?: string; platform?: string } = {}): Promise<ContainerCreateResponse> {
    return this.request('POST', '/containers/create', { query: { name: opts.name || undefined, platform: opts.platform || undefined }, body });
  }

  containerList(opts: { all?: boolean; limit?: number; size?: boolean; filters?: Filters } = {}): Promise<ContainerSummary[]> {
    return this.request('GET', '/containers/json', {
      query: {
        all: opts.all,
        limit: opts.limit !== undefined && opts.limit > 0 ? opts.limit : undefined,
        size: opts.size,
        filters: encodeFilters(opts.filters),
      },
    });
  }

  containerInspect(id: string, opts: { size?: boolean } = {}): Promise<ContainerInspect> {
    return this.request('GET', `/containers/${encodeURIComponent(id)}/json`, { query: { size: opts.size } });
  }

  /** The inspect body exactly as sent, for `inspect` output that keeps the daemon's key order. */
  async containerInspectRaw(id: string, opts: { size?: boolean } = {}): Promise<string> {
    return (await this.requestText('GET', `/containers/${encodeURIComponent(id)}/json`, { query: { size: opts.size } })).text;
  }

  async containerStart(id: string, opts: { detachKeys?: string } = {}): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(id)}/start`, { query: { detachKeys: opts.detachKeys } });
  }

  async containerStop(id: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: { signal: opts.signal || undefined, t: opts.timeout } });
  }

  async containerRestart(id: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(id)}/restart`, { query: { signal: opts.signal || undefined, t: opts.timeout } });
  }

  async containerKill(id: string, signal?: string): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(id)}/kill`, { query: { signal: signal || undefined } });
  }

  async containerRemove(id: string, opts: { force?: boolean; volumes?: boolean; link?: boolean } = {}): Promise<void> {
    await this.request('DELETE', `/containers/${encodeURIComponent(id)}`, { query: { force: opts.force, v: opts.volumes, link: opts.link } });
  }

  async containerRename(id: string, name: string): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(id)}/rename`, { query: { name } });
  }

  async containerResize(id: string, height: number, width: number): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(id)}/resize`, { query: { h: height, w: width } });
  }

  /**
   * Resolves as soon as the daemon has answered the headers, that is once
   * the wait is in place (so a following start cannot outrun it).
   */
  async containerWait(id: string, condition?: 'not-running' | 'next-exit' | 'removed'): Promise<ContainerWaitHandle> {
    const controller = new AbortController();
    const res = await this.open('POST', `/containers/${encodeURIComponent(id)}/wait`, { query: { condition }, signal: controller.signal });
    const result = readAll(res).then((body) => {
      const text = body.toString('utf8').trim();
      if (!text) throw new Error('unexpected end of wait response');
      return JSON.parse(text) as ContainerWaitResponse;
    });
    // Unobserved rejections must not kill the process when the caller gave up.
    result.catch(() => {});
    return { result, cancel: () => controller.abort() };
  }

  containerAttach(id: string, opts: AttachOptions): Promise<HijackedConnection> {
    return this.hijack(`/containers/${encodeURIComponent(id)}/attach`, {
      query: { stream: opts.stream, stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr, logs: opts.logs, detachKeys: opts.detachKeys },
    });
  }

  // ---- exec ------------------------------------------------------------

  async execCreate(container: string, body: ExecCreateRequest): Promise<{ Id: string }> {
    return this.request('POST', `/containers/${encodeURIComponent(container)}/exec`, { body });
  }

  /** Starts a detached exec. */
  async execStartDetached(id: string, body: ExecStartRequest = {}): Promise<void> {
    await this.request('POST', `/exec/${encodeURIComponent(id)}/start`, { body: { ...body, Detach: true } });
  }

  /** Starts an exec on a hijacked connection carrying its stdio. */
  execAttach(id: string, body: ExecStartRequest = {}): Promise<HijackedConnection> {
    return this.hijack(`/exec/${encodeURIComponent(id)}/start`, { body: { ...body, Detach: false } });
  }

  execInspect(id: string): Promise<ExecInspect> {
    return this.request('GET', `/exec/${encodeURIComponent(id)}/json`);
  }

  async execResize(id: string, height: number, width: number): Promise<void> {
    await this.request('POST', `/exec/${encodeURIComponent(id)}/resize`, { query: { h: height, w: width } });
  }

  /** The stats stream (one JSON document per line) or, with stream=false, one document. */
  containerStats(id: string, opts: { stream: boolean; oneShot?: boolean; signal?: AbortSignal }): Promise<IncomingMessage> {
    return this.open('GET', `/containers/${encodeURIComponent(id)}/stats`, { query: { stream: opts.stream ? '1' : '0', 'one-shot': opts.oneShot ? '1' : undefined }, signal: opts.signal });
  }

  containerTop(id: string, psArgs?: string): Promise<ContainerTopResponse> {
    return this.request('GET', `/containers/${encodeURIComponent(id)}/top`, { query: { ps_args: psArgs || undefined } });
  }

  /** HEAD /archive: the path's stat, from the X-Docker-Container-Path-Stat header. */
  async containerStatPath(id: string, path: string): Promise<ContainerPathStat> {
    const res = await this.open('HEAD', `/containers/${encodeURIComponent(id)}/archive`, { query: { path } });
    res.resume();
    return decodePathStat(res);
  }

  /** GET /archive: the stat and the tar of the path. */
  async copyFromContainer(id: string, path: string): Promise<{ stat: ContainerPathStat; content: IncomingMessage }> {
    const res = await this.open('GET', `/containers/${encodeURIComponent(id)}/archive`, { query: { path } });
    return { stat: decodePathStat(res), content: res };
  }

  /** PUT /archive: extracts a tar into the directory `path`. */
  async copyToContainer(id: string, path: string, content: NodeJS.ReadableStream, opts: { copyUIDGID?: boolean; allowOverwriteDirWithFile?: boolean } = {}): Promise<void> {
    await this.request('PUT', `/containers/${encodeURIComponent(id)}/archive`, {
      query: { path, noOverwriteDirNonDir: opts.allowOverwriteDirWithFile ? undefined : 'true', copyUIDGID: opts.copyUIDGID ? 'true' : undefined },
      rawBody: content,
      headers: { 'Content-Type': 'application/x-tar' },
    });
  }

  containerLogs(id: string, opts: LogsOptions): Promise<IncomingMessage> {
    return this.open('GET', `/containers/${encodeURIComponent(id)}/logs`, {
      query: {
        stdout: opts.stdout,
        stderr: opts.stderr,
        follow: opts.follow,
        timestamps: opts.timestamps,
        details: opts.details,
        since: opts.since || undefined,
        until: opts.until || undefined,
        tail: opts.tail || undefined,
      },
      signal: opts.signal,
    });
  }

  // ---- images ----------------------------------------------------------

  imageList(opts: { all?: boolean; filters?: Filters; digests?: boolean } = {}): Promise<ImageSummary[]> {
    return this.request('GET', '/images/json', { query: { all: opts.all, filters: encodeFilters(opts.filters), digests: opts.digests } });
  }

  imageInspect(name: string): Promise<ImageInspect> {
    return this.request('GET', `/images/${encodeImageName(name)}/json`);
  }

  async imageInspectRaw(name: string): Promise<string> {
    return (await this.requestText('GET', `/images/${encodeImageName(name)}/json`)).text;
  }

  imageHistory(name: string): Promise<ImageHistoryItem[]> {
    return this.request('GET', `/images/${encodeImageName(name)}/history`);
  }

  async imageTag(source: string, repo: string, tag?: string): Promise<void> {
    await this.request('POST', `/images/${encodeImageName(source)}/tag`, { query: { repo, tag: tag || undefined } });
  }

  async imageRemove(name: string, opts: { force?: boolean; noPrune?: boolean } = {}): Promise<ImageDeleteResponseItem[]> {
    return (await this.request<ImageDeleteResponseItem[]>('DELETE', `/images/${encodeImageName(name)}`, { query: { force: opts.force, noprune: opts.noPrune } })) ?? [];
  }

  // ---- volumes and disk usage -------------------------------------------

  volumeList(opts: { filters?: Filters } = {}): Promise<VolumeListResponse> {
    return this.request('GET', '/volumes', { query: { filters: encodeFilters(opts.filters) } });
  }

  volumeCreate(body: VolumeCreateOptions): Promise<Volume> {
    return this.request('POST', '/volumes/create', { body });
  }

  async volumeInspectRaw(name: string): Promise<string> {
    return (await this.requestText('GET', `/volumes/${encodeURIComponent(name)}`)).text;
  }

  async volumeRemove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.request('DELETE', `/volumes/${encodeURIComponent(name)}`, { query: { force: opts.force } });
  }

  volumePrune(opts: { filters?: Filters } = {}): Promise<VolumePruneResponse> {
    return this.request('POST', '/volumes/prune', { query: { filters: encodeFilters(opts.filters) } });
  }

  systemDf(types: string[] = []): Promise<SystemDfResponse> {
    return this.request('GET', '/system/df', { query: { type: types.length ? types : undefined } });
  }

  /** Pull: a JSON-lines progress stream. */
  imagePull(opts: { fromImage: string; tag?: string; platform?: string; registryAuth?: string; signal?: AbortSignal }): Promise<IncomingMessage> {
    return this.open('POST', '/images/create', {
      query: { fromImage: opts.fromImage, tag: opts.tag || undefined, platform: opts.platform || undefined },
      headers: opts.registryAuth ? { 'X-Registry-Auth': opts.registryAuth } : undefined,
      signal: opts.signal,
    });
  }

  /** Push: a JSON-lines progress stream. An empty tag pushes every tag of the repository. */
  imagePush(name: string, opts: { tag?: string; registryAuth: string; platform?: string; signal?: AbortSignal }): Promise<IncomingMessage> {
    return this.open('POST', `/images/${encodeImageName(name)}/push`, {
      query: { tag: opts.tag || undefined, platform: opts.platform || undefined },
      headers: { 'X-Registry-Auth': opts.registryAuth },
      signal: opts.signal,
    });
  }

  /** POST /auth: checks credentials against a registry. */
  registryLogin(auth: { username?: string; password?: string; serveraddress: string; identitytoken?: string }): Promise<{ Status: string; IdentityToken?: string }> {
    return this.request('POST', '/auth', { body: auth });
  }

  /** Save: the tar stream of the named images. */
  imageSave(names: string[], opts: { platform?: string; signal?: AbortSignal } = {}): Promise<IncomingMessage> {
    return this.open('GET', '/images/get', { query: { names, platform: opts.platform || undefined }, signal: opts.signal });
  }

  /** Load: a tar as the body; a JSON-lines stream of what was loaded. */
  imageLoad(source: NodeJS.ReadableStream, opts: { quiet?: boolean; platform?: string; signal?: AbortSignal } = {}): Promise<IncomingMessage> {
    return this.open('POST', '/images/load', { query: { quiet: opts.quiet ? '1' : undefined, platform: opts.platform || undefined }, rawBody: source, headers: { 'Content-Type': 'application/x-tar' }, signal: opts.signal });
  }

  /** Import a root filesystem tarball streamed as the body: a JSON-lines progress stream. */
  imageImport(
    source: NodeJS.ReadableStream,
    opts: { repo?: string; tag?: string; changes?: string[]; message?: string; platform?: string; signal?: AbortSignal },
  ): Promise<IncomingMessage> {
    return this.open('POST', '/images/create', {
      query: {
        fromSrc: '-',
        repo: opts.repo || undefined,
        tag: opts.tag || undefined,
        message: opts.message || undefined,
        changes: opts.changes && opts.changes.length ? opts.changes : undefined,
        platform: opts.platform || undefined,
      },
      rawBody: source,
      headers: { 'Content-Type': 'application/x-tar' },
      signal: opts.signal,
    });
  }
}

/** Image names may hold slashes and colons; only escape what breaks a path. */
function encodeImageName(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

export interface ContainerPathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits. */
  mode: number;
  mtime: string;
  linkTarget: string;
}

function decodePathStat(res: IncomingMessage): ContainerPathStat {
  const raw = res.headers['x-docker-container-path-stat'];
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (!text) throw new Error('unable to get resource stat from response');
  return JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as ContainerPathStat;
}

export function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer | string) => chunks.push(typeof c === 'string' ? Buffer.from(c) : c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

async function errorFromResponse(res: IncomingMessage, path: string): Promise<ApiError> {
  const status = res.statusCode ?? 0;
  let text = '';
  try {
    text = (await readAll(res)).toString('utf8').trim();
  } catch {
    // The message is a courtesy; the status alone still says what happened.
  }
  let message = text;
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (parsed && typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // Not JSON: use the text as is, like docker does.
  }
  if (!message) message = `request returned ${res.statusMessage || status} for API route and version ${path}, check if the server supports the requested API version`;
  return new ApiError(status, message);
}
