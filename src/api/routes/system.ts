import type { Route } from '../router.js';
import { API_VERSION } from '../server.js';
import { eventMatches } from '../../events/index.js';
import { InvalidParameterError } from '../../errors/index.js';
import { filtersParam, timestampParamNs } from '../params.js';
import { writeJsonLine } from '../streams.js';
import type { EventMessage } from '../../types/engine.js';
import type { SystemBackend } from './backend.js';

export function systemRoutes(b: SystemBackend): Route[] {
  const ping: Route['handler'] = async ({ req, res }) => {
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'API-Version': API_VERSION,
      'Builder-Version': '1',
      'Docker-Experimental': 'false',
      OSType: 'linux',
    });
    res.end(req.method === 'HEAD' ? undefined : 'OK');
  };
  return [
    { method: 'GET', path: '/_ping', handler: ping },
    { method: 'HEAD', path: '/_ping', handler: ping },
    {
      method: 'GET',
      path: '/version',
      handler: async ({ res }) => sendJson(res, 200, await b.version()),
    },
    {
      method: 'GET',
      path: '/info',
      handler: async ({ res }) => sendJson(res, 200, await b.info()),
    },
    {
      method: 'GET',
      path: '/system/df',
      handler: async ({ res, query }) => {
        const types = query.getAll('type');
        for (const t of types) {
          if (!['container', 'image', 'volume', 'build-cache'].includes(t)) throw new InvalidParameterError(`unknown object type: ${t}`);
        }
        sendJson(res, 200, await b.df(types));
      },
    },
    {
      method: 'GET',
      path: '/events',
      handler: async ({ res, query, signal }) => {
        const filters = filtersParam(query);
        // since=0 is the epoch (replay everything kept), not "unset" as for logs.
        const sinceNs = query.get('since') === '0' ? 0n : timestampParamNs(query, 'since');
        const untilNs = timestampParamNs(query, 'until');
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        const send = (ev: EventMessage) => {
          if (eventMatches(ev, filters)) writeJsonLine(res, ev);
        };
        if (sinceNs !== undefined) for (const ev of b.events.replay(sinceNs, untilNs)) send(ev);
        const nowNs = BigInt(Date.now()) * 1_000_000n;
        if (untilNs !== undefined && untilNs <= nowNs) return;
        await new Promise<void>((resolve) => {
          const unsubscribe = b.events.subscribe((ev) => {
            if (untilNs !== undefined && BigInt(ev.timeNano) > untilNs) return;
            send(ev);
          });
          const finish = () => {
            unsubscribe();
            clearTimeout(timer);
            resolve();
          };
          const timer = untilNs !== undefined ? setTimeout(finish, Number((untilNs - nowNs) / 1_000_000n)) : undefined;
          signal.addEventListener('abort', finish, { once: true });
        });
      },
    },
  ];
}

export function sendJson(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
