import type { Route } from '../router.js';
import { InvalidParameterError, errorMessage } from '../../errors/index.js';
import { boolParam } from '../params.js';
import { drained, writeJsonLine } from '../streams.js';
import type { DistributionBackend } from './backend.js';
import { sendJson } from './system.js';
import type { JSONMessage } from '../../types/engine.js';
import type { ServerResponse } from 'node:http';

// push, login, distribution inspect, save and load.

/** Streams progress messages; a failure midway becomes an errorDetail line, as dockerd writes it. */
export async function streamMessages(res: ServerResponse, progress: AsyncIterable<JSONMessage>): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  try {
    for await (const msg of progress) {
      if (!writeJsonLine(res, msg)) await drained(res);
    }
  } catch (err) {
    writeJsonLine(res, { error: errorMessage(err), errorDetail: { message: errorMessage(err) } });
  }
  res.end();
}

function authHeader(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function distributionRoutes(b: DistributionBackend): Route[] {
  return [
    {
      method: 'POST',
      path: '/images/{name:.*}/push',
      handler: async ({ req, res, params, query, signal }) => {
        const tag = query.get('tag') ?? '';
        const auth = authHeader(req.headers['x-registry-auth']);
        const platform = query.get('platform') ?? '';
        const progress = await b.push({ name: params.name!, ...(tag ? { tag } : {}), ...(auth ? { registryAuth: auth } : {}), ...(platform ? { platform } : {}), signal });
        await streamMessages(res, progress);
      },
    },
    {
      method: 'POST',
      path: '/auth',
      handler: async ({ res, json, signal }) => {
        const body = await json<Record<string, unknown>>();
        if (!body || typeof body !== 'object') throw new InvalidParameterError('login requires a JSON body with username, password and serveraddress');
        sendJson(res, 200, await b.login(body, signal));
      },
    },
    {
      method: 'GET',
      path: '/distribution/{name:.*}/json',
      handler: async ({ req, res, params, signal }) => {
        sendJson(res, 200, await b.inspect(params.name!, authHeader(req.headers['x-registry-auth']), signal));
      },
    },
    {
      method: 'GET',
      path: '/images/get',
      handler: async ({ res, query, signal }) => {
        const names = query.getAll('names').filter(Boolean);
        await b.checkSave(names, query.get('platform') ?? undefined);
        res.writeHead(200, { 'Content-Type': 'application/x-tar' });
        await b.save(names, res, signal);
        res.end();
      },
    },
    {
      method: 'GET',
      path: '/images/{name:.*}/get',
      handler: async ({ res, params, query, signal }) => {
        await b.checkSave([params.name!], query.get('platform') ?? undefined);
        res.writeHead(200, { 'Content-Type': 'application/x-tar' });
        await b.save([params.name!], res, signal);
        res.end();
      },
    },
    {
      method: 'POST',
      path: '/images/load',
      handler: async ({ req, res, query, signal }) => {
        const platform = query.get('platform') ?? '';
        const progress = await b.load(req, { quiet: boolParam(query, 'quiet'), ...(platform ? { platform } : {}), signal });
        await streamMessages(res, progress);
      },
    },
  ];
}
