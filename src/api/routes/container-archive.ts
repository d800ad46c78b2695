import { pipeline } from 'node:stream/promises';
import type { Route } from '../router.js';
import { InvalidParameterError } from '../../errors/index.js';
import { boolParam } from '../params.js';
import type { ContainerBackend } from './backend.js';

// docker cp: HEAD/GET/PUT /containers/{id}/archive. The stat of the path
// travels base64-encoded JSON in X-Docker-Container-Path-Stat.

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

function pathParam(query: URLSearchParams): string {
  const path = query.get('path');
  if (!path) throw new InvalidParameterError('Path cannot be empty');
  return path;
}

function statHeader(stat: unknown): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

export function containerArchiveRoutes(b: ContainerBackend): Route[] {
  return [
    {
      method: 'GET',
      path: '/containers/{id}/changes',
      handler: async ({ res, params }) => {
        const changes = await b.changes(params.id!);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(changes.length ? changes : null));
      },
    },
    {
      method: 'GET',
      path: '/containers/{id}/export',
      handler: async ({ res, params }) => {
        await b.export(params.id!, async (tar) => {
          res.writeHead(200, { 'Content-Type': 'application/x-tar' });
          await pipeline(tar, res);
        });
      },
    },
    {
      method: 'HEAD',
      path: '/containers/{id}/archive',
      handler: async ({ res, params, query }) => {
        const stat = await b.archiveStat(params.id!, pathParam(query));
        res.writeHead(200, { [STAT_HEADER]: statHeader(stat) }).end();
      },
    },
    {
      method: 'GET',
      path: '/containers/{id}/archive',
      handler: async ({ res, params, query }) => {
        await b.archiveGet(params.id!, pathParam(query), async (stat, tar) => {
          res.writeHead(200, { 'Content-Type': 'application/x-tar', [STAT_HEADER]: statHeader(stat) });
          await pipeline(tar, res);
        });
      },
    },
    {
      method: 'PUT',
      path: '/containers/{id}/archive',
      handler: async ({ req, res, params, query }) => {
        await b.archivePut(params.id!, pathParam(query), req, {
          noOverwriteDirNonDir: boolParam(query, 'noOverwriteDirNonDir'),
          copyUIDGID: boolParam(query, 'copyUIDGID'),
        });
        res.writeHead(200).end();
      },
    },
  ];
}
