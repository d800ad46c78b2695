import type { Route } from '../router.js';
import { InvalidParameterError, NotFoundError } from '../../errors/index.js';
import { boolParam, filtersParam } from '../params.js';
import type { NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest } from '../../types/network.js';
import type { NetworkBackend } from './backend.js';
import { sendJson } from './system.js';

// The /networks routes: parse, call the network subsystem, answer.

export function networkRoutes(b: NetworkBackend): Route[] {
  return [
    {
      method: 'GET',
      path: '/networks',
      handler: async ({ res, query }) => sendJson(res, 200, b.list(filtersParam(query))),
    },
    {
      method: 'GET',
      path: '/networks/{id}',
      handler: async ({ res, params, query }) => {
        const scope = query.get('scope');
        const n = b.find(params.id!);
        if (scope && scope !== 'local') throw new NotFoundError(`network ${params.id} not found`);
        sendJson(res, 200, b.resource(n, boolParam(query, 'verbose')));
      },
    },
    {
      method: 'POST',
      path: '/networks/create',
      handler: async ({ res, json }) => {
        const body = await json<NetworkCreateRequest>();
        if (!body || typeof body !== 'object') throw new InvalidParameterError('network name is empty');
        sendJson(res, 201, await b.create(body));
      },
    },
    {
      method: 'DELETE',
      path: '/networks/{id}',
      handler: async ({ res, params }) => {
        await b.remove(params.id!);
        res.writeHead(204).end();
      },
    },
    {
      method: 'POST',
      path: '/networks/prune',
      handler: async ({ res, query }) => sendJson(res, 200, await b.prune(filtersParam(query))),
    },
    {
      method: 'POST',
      path: '/networks/{id}/connect',
      handler: async ({ res, params, json }) => {
        const body = await json<NetworkConnectRequest>();
        if (!body?.Container) throw new InvalidParameterError('container is required');
        await b.connect(params.id!, body);
        res.writeHead(200).end();
      },
    },
    {
      method: 'POST',
      path: '/networks/{id}/disconnect',
      handler: async ({ res, params, json }) => {
        const body = await json<NetworkDisconnectRequest>();
        if (!body?.Container) throw new InvalidParameterError('container is required');
        await b.disconnect(params.id!, body.Container, body.Force === true);
        res.writeHead(200).end();
      },
    },
  ];
}
