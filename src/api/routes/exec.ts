import type { Route } from '../router.js';
import { InvalidParameterError } from '../../errors/index.js';
import { intParam } from '../params.js';
import { drained, frame, STREAM_STDERR, STREAM_STDOUT } from '../streams.js';
import type { ExecCreateRequest, ExecStartRequest } from '../../types/exec.js';
import type { ExecBackend } from './backend.js';
import { sendJson } from './system.js';

export function execRoutes(b: ExecBackend): Route[] {
  return [
    {
      method: 'POST',
      path: '/containers/{id}/exec',
      handler: async ({ res, params, json }) => {
        const body = await json<ExecCreateRequest>();
        if (!body || typeof body !== 'object') throw new InvalidParameterError('No exec command specified');
        const { id } = b.execCreate(params.id!, body);
        sendJson(res, 201, { Id: id });
      },
    },
    {
      method: 'POST',
      path: '/exec/{id}/start',
      handler: async ({ res, params, json, hijack, signal }) => {
        const body = (await json<ExecStartRequest>()) ?? {};
        const start = b.execStart(params.id!, body);
        if (body.Detach) {
          await start.run();
          res.writeHead(200, { 'Content-Type': 'application/json' }).end();
          return;
        }
        const tty = start.tty;
        const socket = hijack(tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
        await start.run(
          (e) => (socket.write(tty ? e.data : frame(e.stream === 'stdout' ? STREAM_STDOUT : STREAM_STDERR, e.data)) ? undefined : drained(socket)),
          start.stdin ? socket : undefined,
          signal,
        );
        socket.end();
      },
    },
    {
      method: 'POST',
      path: '/exec/{id}/resize',
      handler: async ({ res, params, query }) => {
        const h = intParam(query, 'h') ?? 0;
        const w = intParam(query, 'w') ?? 0;
        await b.execResize(params.id!, h, w);
        res.writeHead(200).end();
      },
    },
    {
      method: 'GET',
      path: '/exec/{id}/json',
      handler: async ({ res, params }) => sendJson(res, 200, b.execInspect(params.id!)),
    },
  ];
}
