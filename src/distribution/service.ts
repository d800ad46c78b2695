import { InvalidParameterError, NotFoundError } from '../errors/index.js';
import { familiarName, familiarString, hostPlatform, normalizeForStore, parseNormalizedNamed, parsePlatform, type Platform, type Reference } from '../image/index.js';
import type { JSONMessage } from '../types/engine.js';
import type { AuthConfig } from './auth.js';
import { readBody } from './http.js';
import { MANIFEST_ACCEPT } from './media-types.js';
import { parseManifest } from './manifest.js';
import { Channel, status } from './progress.js';
import { fetchSmallBlob, preparePull } from './pull.js';
import { pushImage } from './push.js';
import { RegistrySession, failure, type RegistryConfig } from './session.js';
import type { DistributionStore } from './store.js';
import { BlobSources } from './blob-sources.js';
import { assertPlatform } from './platform-param.js';

// The registry client as berthd offers it: pull, push, login and the
// distribution inspect endpoint, over the image store and content store.

export interface PullRequest {
  /** fromImage: name, name:tag or name@digest. */
  image: string;
  /** tag query parameter: a tag or a digest; empty with allTags pulls every tag. */
  tag?: string;
  platform?: string;
  allTags?: boolean;
  auth: AuthConfig;
  signal: AbortSignal;
}

export interface PushRequest {
  name: string;
  tag?: string;
  /** Only an image of this platform may be pushed (--platform). */
  platform?: Platform;
  auth: AuthConfig;
  signal: AbortSignal;
}

export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: Array<{ architecture: string; os: string; variant?: string; 'os.version'?: string; 'os.features'?: string[] }>;
}

export interface DistributionHooks {
  /** Called once an image is pulled or pushed (image events). */
  onPull?(ref: string, imageId: string): void;
  onPush?(ref: string, imageId: string): void;
}

export class DistributionService {
  private readonly sources: BlobSources | undefined;

  constructor(
    private readonly store: DistributionStore,
    private readonly cfg: RegistryConfig & { metadataRoot?: string },
    private readonly hooks: DistributionHooks = {},
  ) {
    this.sources = cfg.metadataRoot ? new BlobSources(cfg.metadataRoot) : undefined;
  }

  session(domain: string, auth: AuthConfig): RegistrySession {
    return new RegistrySession(domain, auth, this.cfg);
  }

  /** fromImage + tag as dockerd combines them. */
  private pullReference(image: string, tag: string | undefined): Reference {
    let ref = parseNormalizedNamed(image);
    if (tag) {
      if (/^[a-z0-9]+:/.test(tag) && tag.includes(':')) ref = { domain: ref.domain, path: ref.path, digest: tag };
      else ref = { domain: ref.domain, path: ref.path, tag };
      ref = parseNormalizedNamed(familiarString(ref));
    }
    return ref;
  }

  /**
   * Starts a pull. Errors before any progress (unknown image, denied) are
   * thrown; the returned stream carries the rest as Docker's messages.
   */
  async pull(req: PullRequest): Promise<AsyncIterable<JSONMessage>> {
    const platform: Platform = req.platform ? parsePlatform(req.platform) : hostPlatform();
    const base = this.pullReference(req.image, req.tag);
    const session = this.session(base.domain, req.auth);
    const out = new Channel<JSONMessage>();
    if (req.allTags && base.digest === undefined && base.tag === undefined) {
      const tags = await this.listTags(session, base, req.signal);
      const name = { domain: base.domain, path: base.path };
      const first = await preparePull(this.store, session, { ...name, tag: tags[0]! }, { platform, signal: req.signal, ...(this.sources ? { sources: this.sources } : {}) });
      void (async () => {
        let updated = false;
        try {
          for (const [i, tag] of tags.entries()) {
            const p = i === 0 ? first : await preparePull(this.store, session, { ...name, tag }, { platform, signal: req.signal, ...(this.sources ? { sources: this.sources } : {}) });
            updated = (await this.runOne(p.ref, () => p.run(out), out, false)) || updated;
          }
          out.push(status(undefined, `Status: ${updated ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarName(base)}`));
          out.close();
        } catch (err) {
          out.close(err);
        }
      })();
      return out;
    }
    const ref = base.digest === undefined && base.tag === undefined ? { ...base, tag: 'latest' } : base;
    const prepared = await preparePull(this.store, session, ref, { platform, signal: req.signal, ...(this.sources ? { sources: this.sources } : {}) });
    void this.runOne(ref, () => prepared.run(out), out, true).then(
      () => out.close(),
      (err: unknown) => out.close(err),
    );
    return out;
  }

  /** Runs one pull; reports whether anything changed locally. */
  private async runOne(ref: Reference, run: () => Promise<void>, out: Channel<JSONMessage>, final: boolean): Promise<boolean> {
    const before = await this.store.resolve(familiarString(ref)).catch(() => undefined);
    await run();
    const after = await this.store.resolve(familiarString(ref));
    const updated = before?.id !== after.id;
    if (final) out.push(status(undefined, `Status: ${updated ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarString(ref)}`));
    this.hooks.onPull?.(familiarString(ref), after.id);
    return updated;
  }

  private async listTags(session: RegistrySession, ref: Reference, signal: AbortSignal): Promise<string[]> {
    const res = await session.request(`${ref.path}/tags/list`, { scopes: [`repository:${ref.path}:pull`], signal });
    if (res.statusCode !== 200) throw await failure(res, `listing tags of ${familiarName(ref)}`);
    const doc = JSON.parse((await readBody(res)).toString('utf8')) as { tags?: string[] | null };
    const tags = (doc.tags ?? []).sort();
    if (tags.length === 0) throw new NotFoundError(`no tags found for ${familiarName(ref)}`);
    return tags;
  }

  /** Starts a push of name:tag (every tag of the repository when tag is empty). */
  async push(req: PushRequest): Promise<AsyncIterable<JSONMessage>> {
    const named = parseNormalizedNamed(req.tag ? `${req.name}:${req.tag}` : req.name);
    if (named.digest !== undefined) throw new InvalidParameterError('cannot push a digest reference');
    const repoName = familiarName(named);
    const targets: Reference[] = [];
    if (req.tag || named.tag !== undefined) {
      const ref = normalizeForStore(named);
      await this.store.resolve(familiarString(ref));
      targets.push(ref);
    } else {
      for (const img of await this.store.list({ filters: { reference: [repoName] } })) {
        for (const t of img.repoTags) targets.push(normalizeForStore(parseNormalizedNamed(t)));
      }
      if (targets.length === 0) throw new NotFoundError(`An image does not exist locally with the tag: ${repoName}`);
    }
    for (const t of targets) assertPlatform(familiarString(t), (await this.store.resolve(familiarString(t))).config, req.platform);
    const session = this.session(named.domain, req.auth);
    // Reach the registry (and learn its auth) before answering 200.
    await session.base(req.signal);
    const out = new Channel<JSONMessage>();
    void (async () => {
      try {
        out.push(status(undefined, `The push refers to repository [${named.domain}/${named.path}]`));
        for (const t of targets) {
          const img = await this.store.resolve(familiarString(t));
          await pushImage(this.store, session, t, img, req.signal, out, this.sources);
          this.hooks.onPush?.(familiarString(t), img.id);
        }
        out.close();
      } catch (err) {
        out.close(err);
      }
    })();
    return out;
  }

  /** POST /auth: checks the credentials against the registry. */
  async login(auth: AuthConfig, signal: AbortSignal): Promise<{ Status: string; IdentityToken: string }> {
    const address = auth.serveraddress?.replace(/^https?:\/\//, '').replace(/\/.*$/, '') ?? '';
    if (!address || address.endsWith('docker.io')) {
      await this.session('docker.io', auth).login(signal);
    } else {
      await this.session(address, auth).login(signal);
    }
    return { Status: 'Login Succeeded', IdentityToken: '' };
  }

  /** GET /distribution/{name}/json: the manifest descriptor and its platforms. */
  async inspect(name: string, auth: AuthConfig, signal: AbortSignal): Promise<DistributionInspect> {
    const ref = parseNormalizedNamed(name);
    const r = ref.digest === undefined && ref.tag === undefined ? { ...ref, tag: 'latest' } : ref;
    const session = this.session(r.domain, auth);
    const res = await session.request(`${r.path}/manifests/${r.digest ?? r.tag}`, { headers: { Accept: MANIFEST_ACCEPT }, scopes: [`repository:${r.path}:pull`], signal });
    if (res.statusCode !== 200) throw await failure(res, `manifest for ${familiarString(r)} not found`);
    const bytes = await readBody(res, 4 << 20);
    const { createHash } = await import('node:crypto');
    const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
    const parsed = parseManifest(bytes, res.headers['content-type']);
    const out: DistributionInspect = { Descriptor: { mediaType: parsed.mediaType, digest, size: bytes.length }, Platforms: [] };
    if (parsed.kind === 'index') {
      for (const m of parsed.index.manifests) if (m.platform) out.Platforms.push({ ...m.platform });
    } else {
      const cfg = JSON.parse((await fetchSmallBlob(session, r, parsed.manifest.config, signal)).toString('utf8')) as { os: string; architecture: string; variant?: string };
      out.Platforms.push({ architecture: cfg.architecture, os: cfg.os, ...(cfg.variant ? { variant: cfg.variant } : {}) });
    }
    return out;
  }
}
