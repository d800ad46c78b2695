// The CLI normalizes image references exactly as the image store does
// (`busybox` is docker.io/library/busybox:latest, shown as `busybox:latest`):
// one implementation, shared.
export {
  parseNormalizedNamed,
  familiarName,
  familiarString,
  tagNameOnly as withDefaultTag,
  type Reference as ImageReference,
} from '../../image/reference.js';
