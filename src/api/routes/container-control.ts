import type { Route } from '../router.js';
import { InvalidParameterError } from '../../errors/index.js';
import type { ContainerBackend } from './backend.js';
import type { UpdateRequest } from '../../container/update.js';
import { boolParam, filtersParam } from '../params.js';
import { drained } from '../streams.js';
import { sendJson } from './system.js';

// pause, unpause and the other `docker container` controls beyond the spine.

export function containerControlRoutes(b: ContainerBackend): Route[] {
  return [
    {
      method: 'POST',
      path: '/containers/{id}/pause',
      handler: async ({ res, params }) => {
        await b.pause(params.id!);
        res.writeHead(204).end();
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/unpause',
      handler: async ({ res, params }) => {
        await b.unpause(params.id!);
        res.writeHead(204).end();
      },
    },
    {
      method: 'POST',
      path: '/containers/prune',
      handler: async ({ res, query }) => sendJson(res, 200, await b.prune(filtersParam(query))),
    },
    {
      method: 'POST',
      path: '/containers/{id}/update',
      handler: async ({ res, params, json }) => {
        const body = (await json<UpdateRequest>()) ?? {};
        sendJson(res, 200, await b.update(params.id!, body));
      },
    },
    {
      method: 'GET',
      path: '/containers/{id}/top',
      handler: async ({ res, params, query }) => sendJson(res, 200, await b.top(params.id!, query.get('ps_args') ?? '')),
    },
    {
      method: 'GET',
      path: '/containers/{id}/stats',
      handler: async ({ res, params, query, signal }) => {
        const stream = boolParam(query, 'stream', true);
        const oneShot = boolParam(query, 'one-shot');
        if (stream && oneShot) throw new InvalidParameterError('cannot have stream=true and one-shot=true');
        b.get(params.id!); // 404 before the headers
        res.writeHead(200, { 'Content-Type': 'application/json' });
        await b.stats(params.id!, { stream, oneShot }, (s) => (res.write(JSON.stringify(s) + '\n') ? undefined : drained(res)), signal);
        res.end();
      },
    },
  ];
}
