import type { DistributionBackend } from '../api/index.js';
import { decodeRegistryAuth, type AuthConfig, type DistributionService } from '../distribution/index.js';
import { loadImages, saveImages, type ArchiveStore } from '../distribution/archive.js';
import { InvalidParameterError } from '../errors/index.js';
import { assertPlatform, parsePlatformParam } from '../distribution/platform-param.js';

/** The distribution routes' backend: the registry client plus save/load over the image store. */
export function distributionBackend(images: ArchiveStore, distribution: DistributionService): DistributionBackend {
  return {
    push: (req) => {
      const platform = parsePlatformParam(req.platform);
      return distribution.push({ name: req.name, ...(req.tag ? { tag: req.tag } : {}), ...(platform ? { platform } : {}), auth: decodeRegistryAuth(req.registryAuth), signal: req.signal });
    },
    login(body, signal) {
      const auth: AuthConfig = {};
      for (const k of ['username', 'password', 'auth', 'serveraddress', 'identitytoken', 'registrytoken'] as const) {
        const v = body[k] ?? body[k[0]!.toUpperCase() + k.slice(1)];
        if (typeof v === 'string' && v !== '') auth[k] = v;
      }
      if (!auth.username && !auth.identitytoken && !auth.auth) throw new InvalidParameterError('Username is required');
      return distribution.login(auth, signal);
    },
    inspect: (name, registryAuth, signal) => distribution.inspect(name, decodeRegistryAuth(registryAuth), signal),
    checkSave: async (names, platformParam) => {
      if (names.length === 0) throw new InvalidParameterError('no images given to save');
      const platform = parsePlatformParam(platformParam);
      for (const n of names) assertPlatform(n, (await images.resolve(n)).config, platform);
    },
    save: (names, out, signal) => saveImages(images, names, out, signal),
    load: (body, opts) => {
      const platform = parsePlatformParam(opts.platform);
      return loadImages(images, body, { quiet: opts.quiet, signal: opts.signal, ...(platform ? { platform } : {}) });
    },
  };
}
