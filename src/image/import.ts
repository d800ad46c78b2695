import { applyChanges } from './changes.js';
import type { ImportOptions, OciImageConfig } from './image-store.js';
import { hostPlatform, parsePlatform } from './platform.js';
import { parseTagTarget } from './tag-store.js';

// docker import: a tarball becomes a one-layer image whose config is made
// here (platform, --change lines, the message as its comment).

/**
 * Checks everything an import can refuse (reference, changes, platform)
 * before its body is read; returns the maker of the image's config.
 */
export function prepareImport(opts: ImportOptions): (diffId: string) => OciImageConfig {
  if (opts.reference !== undefined) parseTagTarget(opts.reference);
  const changed = applyChanges({}, opts.changes ?? []);
  const platform = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
  return (diffId) => {
    const created = new Date().toISOString();
    const comment = opts.message || 'Imported from -';
    return {
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      os: platform.os,
      created,
      config: changed,
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: '', comment }],
      comment,
    };
  };
}
