import type { Route } from '../router.js';
import { InvalidParameterError } from '../../errors/index.js';
import { boolParam, filtersParam } from '../params.js';
import type { VolumeCreateOptions } from '../../types/volume.js';
import type { VolumeBackend } from './backend.js';
import { sendJson } from './system.js';
import { compareVersions } from '../server.js';

// /volumes: list, create, inspect, remove, prune (moby's volume router).

export function volumeRoutes(b: VolumeBackend): Route[] {
  return [
    {
      method: 'GET',
      path: '/volumes',
      handler: async ({ res, query }) => sendJson(res, 200, b.list(filtersParam(query))),
    },
    {
      method: 'POST',
      path: '/volumes/create',
      handler: async ({ res, json }) => {
        const body = (await json<VolumeCreateOptions>()) ?? {};
        if (typeof body !== 'object' || Array.isArray(body)) throw new InvalidParameterError('invalid JSON body for volume create');
        if (body.Name !== undefined && typeof body.Name !== 'string') throw new InvalidParameterError('invalid volume name: Name must be a string');
        sendJson(res, 201, await b.create(body));
      },
    },
    {
      method: 'POST',
      path: '/volumes/prune',
      handler: async ({ res, query, version }) => {
        const filters = filtersParam(query);
        // Before API 1.42 prune removed every unused volume, named ones too.
        if (compareVersions(version, '1.42') < 0 && !filters.all) filters.all = ['true'];
        sendJson(res, 200, await b.prune(filters));
      },
    },
    {
      method: 'GET',
      path: '/volumes/{name}',
      handler: async ({ res, params }) => sendJson(res, 200, b.inspect(params.name!)),
    },
    {
      method: 'DELETE',
      path: '/volumes/{name}',
      handler: async ({ res, params, query }) => {
        await b.remove(params.name!, { force: boolParam(query, 'force') });
        res.writeHead(204).end();
      },
    },
  ];
}
