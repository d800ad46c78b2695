// Image references with distribution/reference's grammar and docker's
// "familiar" forms: `busybox` is docker.io/library/busybox:latest, shown
// back as `busybox:latest`.

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE_RE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_ID = /^[a-f0-9]{64}$/;

export const DEFAULT_DOMAIN = 'docker.io';
const OFFICIAL_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

export class ReferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReferenceError';
  }
}

export interface ImageReference {
  /** Registry host, e.g. docker.io, localhost:5000. */
  domain: string;
  /** Repository path, e.g. library/busybox. */
  path: string;
  tag?: string;
  digest?: string;
}

function splitDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  if (slash === -1) return [DEFAULT_DOMAIN, name];
  const first = name.slice(0, slash);
  if (!first.includes('.') && !first.includes(':') && first !== 'localhost' && first.toLowerCase() === first) return [DEFAULT_DOMAIN, name];
  return [first, name.slice(slash + 1)];
}

/** distribution/reference.ParseNormalizedNamed. */
export function parseNormalizedNamed(text: string): ImageReference {
  if (ANCHORED_ID.test(text)) throw new ReferenceError(`invalid repository name (${text}), cannot specify 64-byte hexadecimal strings`);
  const [textDomain, remainder] = splitDomain(text);
  const officialRemainder = textDomain === DEFAULT_DOMAIN && !remainder.includes('/') ? OFFICIAL_PREFIX + remainder : remainder;
  const repoPart = officialRemainder.replace(/:.*$/, '');
  if (repoPart.toLowerCase() !== repoPart) throw new ReferenceError(`invalid reference format: repository name (${repoPart}) must be lowercase`);
  const m = REFERENCE_RE.exec(text);
  if (!m) throw new ReferenceError('invalid reference format');
  const name = m[1]!;
  if (name.length > NAME_TOTAL_LENGTH_MAX) throw new ReferenceError(`invalid reference format: repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  let [domain, path] = splitDomain(name);
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  return { domain, path, tag: m[2], digest: m[3] };
}

/** True when the text parses as a reference (without normalizing errors). */
export function isValidReference(text: string): boolean {
  try {
    parseNormalizedNamed(text);
    return true;
  } catch {
    return false;
  }
}

/** The repository name as users write it: `busybox`, `user/app`, `localhost:5000/app`. */
export function familiarName(ref: ImageReference): string {
  if (ref.domain === DEFAULT_DOMAIN) return ref.path.startsWith(OFFICIAL_PREFIX) && ref.path.split('/').length === 2 ? ref.path.slice(OFFICIAL_PREFIX.length) : ref.path;
  return `${ref.domain}/${ref.path}`;
}

export function familiarString(ref: ImageReference): string {
  return familiarName(ref) + (ref.tag ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
}

/** reference.TagNameOnly: a reference without tag or digest gets `latest`. */
export function withDefaultTag(ref: ImageReference): ImageReference {
  return ref.tag || ref.digest ? ref : { ...ref, tag: 'latest' };
}
