import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

// One HTTP exchange with a registry: plain node:http(s) with keep-alive
// agents (blobs are large and parallel), redirects followed for GET/HEAD
// (registries send blob downloads to storage elsewhere), the request
// cancelled by the caller's AbortSignal.

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  signal?: AbortSignal;
  /** TLS: skip verification (insecure-registries served over https). */
  insecureTls?: boolean;
  /** Extra CA certificates (certs.d). */
  ca?: Buffer[];
}

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 32 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 32 });
const insecureAgent = new HttpsAgent({ keepAlive: true, maxSockets: 32, rejectUnauthorized: false });

export function send(req: HttpRequest, redirects = 5): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const isHttps = req.url.protocol === 'https:';
    const agent = !isHttps ? httpAgent : req.insecureTls ? insecureAgent : req.ca ? new HttpsAgent({ ca: req.ca, keepAlive: false }) : httpsAgent;
    const fn = isHttps ? httpsRequest : httpRequest;
    const r = fn(req.url, { method: req.method, headers: { 'User-Agent': 'berth/0.1', ...req.headers }, agent, ...(req.signal ? { signal: req.signal } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location && redirects > 0 && (req.method === 'GET' || req.method === 'HEAD')) {
        res.resume();
        const next = new URL(res.headers.location, req.url);
        const headers = { ...req.headers };
        // Credentials are for the registry, not for wherever it sends us.
        if (next.host !== req.url.host) delete headers['Authorization'];
        send({ ...req, url: next, headers }, redirects - 1).then(resolve, reject);
        return;
      }
      resolve(res);
    });
    r.on('error', reject);
    if (req.body === undefined) r.end();
    else if (Buffer.isBuffer(req.body)) r.end(req.body);
    else {
      req.body.on('error', (err) => r.destroy(err));
      req.body.pipe(r);
    }
  });
}

export async function readBody(res: IncomingMessage, limit = 32 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw new Error(`response larger than ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** CA certificates for host[:port] under a certs.d directory, as Docker reads them. */
export async function certsFor(certsDir: string | undefined, host: string): Promise<Buffer[] | undefined> {
  if (!certsDir) return undefined;
  const ca = await readFile(join(certsDir, host, 'ca.crt')).catch(() => undefined);
  return ca ? [ca] : undefined;
}
