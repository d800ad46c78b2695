import type { Route } from '../router.js';
import type { ContainerBackend } from './backend.js';

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
  ];
}
