import type { Route } from '../router.js';
import { InvalidParameterError } from '../../errors/index.js';
import { boolParam, filtersParam, intParam, timestampParamNs } from '../params.js';
import { drained, frameHeader, STREAM_STDERR, STREAM_STDOUT } from '../streams.js';
import type { Writable } from 'node:stream';
import { formatTimestampNs, type LogEntry, type WaitCondition } from '../../container/index.js';
import type { ContainerCreateRequest } from '../../types/engine.js';
import type { ContainerBackend } from './backend.js';
import { sendJson } from './system.js';
import { containerControlRoutes } from './container-control.js';
import { containerArchiveRoutes } from './container-archive.js';

const WAIT_CONDITIONS: WaitCondition[] = ['not-running', 'next-exit', 'removed'];

/** Batches this large are written at once, without waiting for the end of the run. */
const BATCH_BYTES = 256 * 1024;

interface OutputWriter {
  (e: LogEntry): Promise<void> | undefined;
  /** Writes what is batched; call before ending the stream. */
  flush(): void;
}

/**
 * Writes container output as Docker does: raw with a TTY, else 8-byte-header
 * frames. Entries come in runs (a whole read of the log file), so they are
 * batched into one write per run (or per BATCH_BYTES) rather than one per
 * line. Returns a promise while the client is behind, so the log reader
 * waits for it instead of buffering without bound.
 */
function outputWriter(out: Writable, tty: boolean, timestamps = false): OutputWriter {
  let batch: Buffer[] = [];
  let bytes = 0;
  let scheduled = false;
  // A client that hangs up mid-stream makes the next write fail with EPIPE;
  // its reader is stopped by the close, so the error needs no more than a listener.
  out.on('error', () => {});
  const flush = () => {
    if (!batch.length) return;
    const data = batch.length === 1 ? batch[0]! : Buffer.concat(batch, bytes);
    batch = [];
    bytes = 0;
    if (!out.destroyed && out.writable) out.write(data);
  };
  const write = (e: LogEntry) => {
    const data = timestamps ? Buffer.concat([Buffer.from(formatTimestampNs(e.timeNs) + ' '), e.data]) : e.data;
    if (!tty) {
      batch.push(frameHeader(e.stream === 'stdout' ? STREAM_STDOUT : STREAM_STDERR, data.length));
      bytes += 8;
    }
    batch.push(data);
    bytes += data.length;
    if (bytes >= BATCH_BYTES) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        flush();
      });
    }
    return out.writableNeedDrain ? drained(out) : undefined;
  };
  return Object.assign(write, { flush });
}

export function containerRoutes(b: ContainerBackend): Route[] {
  return [
    ...containerControlRoutes(b),
    ...containerArchiveRoutes(b),
    {
      method: 'POST',
      path: '/containers/create',
      handler: async ({ res, query, json }) => {
        const body = await json<ContainerCreateRequest>();
        if (!body || typeof body !== 'object') throw new InvalidParameterError('config cannot be empty in order to create a container');
        const created = await b.create(body, query.get('name') ?? undefined);
        sendJson(res, 201, { Id: created.id, Warnings: created.warnings });
      },
    },
    {
      method: 'GET',
      path: '/containers/json',
      handler: async ({ res, query }) => {
        const list = await b.list({
          all: boolParam(query, 'all'),
          limit: intParam(query, 'limit'),
          size: boolParam(query, 'size'),
          filters: filtersParam(query),
        });
        sendJson(res, 200, list);
      },
    },
    {
      method: 'GET',
      path: '/containers/{id}/json',
      handler: async ({ res, params, query }) => sendJson(res, 200, await b.inspect(params.id!, boolParam(query, 'size'))),
    },
    {
      method: 'POST',
      path: '/containers/{id}/start',
      handler: async ({ res, params }) => {
        await b.start(params.id!);
        res.writeHead(204).end();
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/stop',
      handler: async ({ res, params, query }) => {
        await b.stop(params.id!, { timeout: intParam(query, 't'), signal: query.get('signal') ?? undefined });
        res.writeHead(204).end();
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/restart',
      handler: async ({ res, params, query }) => {
        await b.restart(params.id!, { timeout: intParam(query, 't'), signal: query.get('signal') ?? undefined });
        res.writeHead(204).end();
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/kill',
      handler: async ({ res, params, query }) => {
        await b.kill(params.id!, query.get('signal') || 'SIGKILL');
        res.writeHead(204).end();
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/rename',
      handler: async ({ res, params, query }) => {
        await b.rename(params.id!, query.get('name') ?? '');
        res.writeHead(204).end();
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/resize',
      handler: async ({ res, params, query }) => {
        const h = intParam(query, 'h') ?? 0;
        const w = intParam(query, 'w') ?? 0;
        await b.resize(params.id!, h, w);
        res.writeHead(200).end();
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/wait',
      handler: async ({ res, params, query, signal }) => {
        const condition = (query.get('condition') || 'not-running') as WaitCondition;
        if (!WAIT_CONDITIONS.includes(condition)) throw new InvalidParameterError(`invalid condition: "${condition}"`);
        const { done } = b.wait(params.id!, condition, signal);
        // Headers first: the client (docker run) starts the container only once the wait is in place.
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        const result = await done;
        res.end(JSON.stringify(result) + '\n');
      },
    },
    {
      method: 'DELETE',
      path: '/containers/{id}',
      handler: async ({ res, params, query }) => {
        await b.remove(params.id!, { force: boolParam(query, 'force'), volumes: boolParam(query, 'v') });
        res.writeHead(204).end();
      },
    },
    {
      method: 'GET',
      path: '/containers/{id}/logs',
      handler: async ({ res, params, query, signal }) => {
        const stdout = boolParam(query, 'stdout');
        const stderr = boolParam(query, 'stderr');
        if (!stdout && !stderr) throw new InvalidParameterError('Bad parameters: you must choose at least one stream');
        const tailRaw = query.get('tail');
        const tail = tailParam(tailRaw);
        const tty = b.get(params.id!).tty;
        b.assertLogsReadable(params.id!);
        res.writeHead(200, { 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
        res.flushHeaders();
        const writer = outputWriter(res, tty, boolParam(query, 'timestamps'));
        await b.logs(
          params.id!,
          {
            stdout,
            stderr,
            follow: boolParam(query, 'follow'),
            tail,
            sinceNs: timestampParamNs(query, 'since'),
            untilNs: timestampParamNs(query, 'until'),
          },
          writer,
          signal,
        );
        writer.flush();
        res.end();
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/attach',
      handler: async ({ params, query, signal, hijack }) => {
        const tty = b.get(params.id!).tty;
        let write: (e: LogEntry) => Promise<void> | undefined = () => undefined;
        // Register before answering, so the start that follows cannot outrun us.
        const session = b.attach(
          params.id!,
          {
            stdout: boolParam(query, 'stdout'),
            stderr: boolParam(query, 'stderr'),
            logs: boolParam(query, 'logs'),
            stream: boolParam(query, 'stream'),
          },
          (e) => write(e),
          signal,
        );
        const socket = hijack(tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
        const writer = outputWriter(socket, tty);
        write = writer;
        if (boolParam(query, 'stdin')) session.setStdin(socket);
        await session.run();
        writer.flush();
        socket.end();
      },
    },
  ];
}

/**
 * dockerd reads `tail` with Atoi and takes anything that is not a whole number
 * of zero or more ("all", -1 as testcontainers sends, garbage) as every line.
 */
export function tailParam(raw: string | null): number | undefined {
  if (raw === null || !/^[+-]?\d+$/.test(raw.trim())) return undefined;
  const n = Number(raw.trim());
  return n < 0 ? undefined : n;
}
