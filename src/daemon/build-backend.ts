import type { BuildBackend, ImageBackend } from '../api/index.js';
import { Builder, containerStepRunner } from '../builder/index.js';
import type { ContainerService } from '../container/index.js';
import type { EventBus } from '../events/index.js';
import type { LocalImageStore } from '../image/index.js';
import type { Snapshotter } from '../snapshot/index.js';

/** The builder wired to the image store, the snapshotter and the container service. */
export async function buildBackend(o: {
  root: string;
  images: LocalImageStore;
  imageBackend: ImageBackend;
  snapshotter: Snapshotter;
  containers: ContainerService;
  events: EventBus;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}): Promise<BuildBackend> {
  const builder = new Builder({
    root: o.root,
    images: o.images,
    snapshotter: o.snapshotter,
    steps: containerStepRunner(o.containers, o.snapshotter),
    pull: (ref, { platform, registryAuth, signal }) => o.imageBackend.pull({ image: ref, signal, ...(platform ? { platform } : {}), ...(registryAuth ? { registryAuth } : {}) }),
    onTagged: (id, name) => o.events.emit('image', 'tag', id, { name }),
    log: o.log,
  });
  await builder.cleanup();
  return {
    prepare: (context, opts) => builder.prepare(context, opts),
    prune: (opts) => builder.prune(opts),
    buildCache: () => builder.usage(),
  };
}
