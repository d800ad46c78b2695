import type { Route } from '../router.js';
import { InvalidParameterError, NotImplementedError, errorMessage } from '../../errors/index.js';
import { boolParam, filtersParam } from '../params.js';
import { writeJsonLine } from '../streams.js';
import type { ImageBackend } from './backend.js';
import { sendJson } from './system.js';

export function imageRoutes(b: ImageBackend): Route[] {
  return [
    {
      method: 'GET',
      path: '/images/json',
      handler: async ({ res, query }) => {
        const images = await b.store.list({ all: boolParam(query, 'all'), filters: filtersParam(query) });
        const counts = b.containerCounts();
        sendJson(res, 200, images.map((img) => b.store.summary(img, counts.get(img.id) ?? 0)));
      },
    },
    {
      method: 'POST',
      path: '/images/prune',
      handler: async ({ res, query }) => sendJson(res, 200, await b.prune(filtersParam(query))),
    },
    {
      // docker import (fromSrc) and docker pull (fromImage) share this endpoint.
      method: 'POST',
      path: '/images/create',
      handler: async ({ req, res, query, signal }) => {
        const fromSrc = query.get('fromSrc');
        const fromImage = query.get('fromImage');
        if (fromSrc !== null) {
          if (fromSrc !== '-') throw new NotImplementedError('importing from a URL is not supported; use fromSrc=- with the tar as the body');
          const repo = query.get('repo') ?? '';
          const tag = query.get('tag') ?? '';
          const reference = repo ? (tag ? `${repo}:${tag}` : repo) : undefined;
          const image = await b.importTarball(req, {
            reference,
            changes: query.getAll('changes').filter(Boolean),
            message: query.get('message') ?? undefined,
            platform: query.get('platform') ?? undefined,
            signal,
          });
          res.writeHead(200, { 'Content-Type': 'application/json' });
          writeJsonLine(res, { status: image.id });
          res.end();
          return;
        }
        if (fromImage) {
          const auth = req.headers['x-registry-auth'];
          const progress = await b.pull({
            image: fromImage,
            ...(query.get('tag') ? { tag: query.get('tag')! } : {}),
            ...(query.get('platform') ? { platform: query.get('platform')! } : {}),
            // dockerd pulls every tag of a name given without tag or digest.
            allTags: !query.get('tag'),
            ...(typeof auth === 'string' ? { registryAuth: auth } : {}),
            signal,
          });
          res.writeHead(200, { 'Content-Type': 'application/json' });
          try {
            for await (const msg of progress) writeJsonLine(res, msg);
          } catch (err) {
            writeJsonLine(res, { error: errorMessage(err), errorDetail: { message: errorMessage(err) } });
          }
          res.end();
          return;
        }
        throw new InvalidParameterError('either fromSrc or fromImage must be given');
      },
    },
    {
      method: 'GET',
      path: '/images/{name:.*}/json',
      handler: async ({ res, params }) => sendJson(res, 200, b.store.inspect(await b.store.resolve(params.name!))),
    },
    {
      method: 'GET',
      path: '/images/{name:.*}/history',
      handler: async ({ res, params }) => sendJson(res, 200, await b.store.history(params.name!)),
    },
    {
      method: 'POST',
      path: '/images/{name:.*}/tag',
      handler: async ({ res, params, query }) => {
        const repo = query.get('repo');
        if (!repo) throw new InvalidParameterError('repository name must have at least one component');
        const tag = query.get('tag');
        await b.tag(params.name!, tag ? `${repo}:${tag}` : repo);
        res.writeHead(201).end();
      },
    },
    {
      method: 'DELETE',
      path: '/images/{name:.*}',
      handler: async ({ res, params, query }) => {
        const deleted = await b.remove(params.name!, { force: boolParam(query, 'force'), noPrune: boolParam(query, 'noprune') });
        sendJson(res, 200, deleted);
      },
    },
  ];
}
