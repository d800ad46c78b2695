import type { Route } from '../router.js';
import { InvalidParameterError } from '../../errors/index.js';
import type { ContainerBackend } from './backend.js';
import type { UpdateRequest } from '../../container/update.js';
import type { ContainerConfig } from '../../types/engine.js';
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
      path: '/commit',
      handler: async ({ res, query, json }) => {
        const container = query.get('container');
        if (!container) throw new InvalidParameterError('No such container: ');
        const repo = query.get('repo') ?? '';
        const tag = query.get('tag') ?? '';
        // Unset means pause, as dockerd since API 1.13.
        const pause = query.get('pause') === null || query.get('pause') === '' ? true : boolParam(query, 'pause');
        const config = await json<ContainerConfig | null>().catch(() => {
          throw new InvalidParameterError('invalid JSON in the commit config');
        });
        const out = await b.commit(container, {
          reference: repo ? (tag ? `${repo}:${tag}` : repo) : undefined,
          comment: query.get('comment') ?? '',
          author: query.get('author') ?? '',
          pause,
          changes: query.getAll('changes').filter(Boolean),
          config: config ?? null,
        });
        sendJson(res, 201, out);
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
