import { InvalidParameterError } from '../errors/index.js';

// Docker image references, parsed and normalised exactly as
// github.com/distribution/reference does (ParseNormalizedNamed,
// ParseAnyReference, FamiliarString, TagNameOnly, FamiliarMatch), including
// its error messages, which users see verbatim.
//
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [domain '/'] path-component ['/' path-component]*
//   domain     := host [':' port]

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
/** The key Docker's clients file Docker Hub's credentials under (config.json auths, X-Registry-Config). */
export const DEFAULT_INDEX_SERVER_KEY = `https://${LEGACY_DEFAULT_DOMAIN}/v1/`;
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_TOTAL_LENGTH_MAX = 255;

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}';
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const referenceRegexp = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const anchoredNameRegexp = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredTagRegexp = new RegExp(`^${tagPat}$`);
const anchoredIdentifierRegexp = /^[a-f0-9]{64}$/;

/** A parsed reference. `domain` and `path` are always set for named references. */
export interface Reference {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

/** ParseAnyReference's other outcome: a bare digest (an image ID). */
export interface DigestReference {
  digest: string;
}

const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** go-digest's Validate: errors as its messages. */
export function validateDigest(d: string): void {
  const i = d.indexOf(':');
  if (i <= 0 || i + 1 === d.length) throw new InvalidParameterError('invalid checksum digest format');
  const algorithm = d.slice(0, i);
  const hex = d.slice(i + 1);
  if (!/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$/.test(algorithm)) throw new InvalidParameterError('invalid checksum digest format');
  const length = DIGEST_LENGTHS[algorithm];
  if (length === undefined) throw new InvalidParameterError('unsupported digest algorithm');
  if (!/^[a-f0-9]*$/.test(hex)) throw new InvalidParameterError('invalid checksum digest format');
  if (hex.length !== length) throw new InvalidParameterError('invalid checksum digest length');
}

export function isDigest(s: string): boolean {
  try {
    validateDigest(s);
    return true;
  } catch {
    return false;
  }
}

/** distribution's Parse: no normalisation. */
export function parse(s: string): Reference {
  const m = referenceRegexp.exec(s);
  if (!m) {
    if (s === '') throw new InvalidParameterError('repository name must have at least one component');
    if (referenceRegexp.test(s.toLowerCase())) throw new InvalidParameterError('repository name must be lowercase');
    throw new InvalidParameterError('invalid reference format');
  }
  const nm = anchoredNameRegexp.exec(m[1]!);
  const ref: Reference = nm ? { domain: nm[1] ?? '', path: nm[2]! } : { domain: '', path: m[1]! };
  if (ref.path.length > NAME_TOTAL_LENGTH_MAX) throw new InvalidParameterError(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) {
    validateDigest(m[3]);
    ref.digest = m[3];
  }
  return ref;
}

function splitDockerDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  if (i === -1) return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  const maybeDomain = name.slice(0, i);
  const maybeRemote = name.slice(i + 1);
  let domain: string;
  let remote: string;
  if (maybeDomain === 'localhost' || /[.:]/.test(maybeDomain) || maybeDomain.toLowerCase() !== maybeDomain) {
    // "localhost", anything with a dot or a port, or an uppercase first part
    // (namespaces are lowercase) is a registry host.
    [domain, remote] = [maybeDomain, maybeRemote];
  } else {
    [domain, remote] = [DEFAULT_DOMAIN, name];
  }
  // The legacy Docker Index name is Docker Hub.
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remote.includes('/')) remote = OFFICIAL_REPO_PREFIX + remote;
  return [domain, remote];
}

/** ParseNormalizedNamed: "busybox" → docker.io/library/busybox (no tag added). */
export function parseNormalizedNamed(s: string): Reference {
  if (anchoredIdentifierRegexp.test(s)) {
    throw new InvalidParameterError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, remainder] = splitDockerDomain(s);
  const tagSep = remainder.indexOf(':');
  const remote = tagSep > -1 ? remainder.slice(0, tagSep) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw new InvalidParameterError(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  return parse(`${domain}/${remainder}`);
}

/** ParseAnyReference: a 64-hex ID or a digest is a digest reference, anything else a name. */
export function parseAnyReference(s: string): Reference | DigestReference {
  if (anchoredIdentifierRegexp.test(s)) return { digest: `sha256:${s}` };
  if (isDigest(s)) return { digest: s };
  return parseNormalizedNamed(s);
}

export function isNamed(ref: Reference | DigestReference): ref is Reference {
  return 'path' in ref;
}

/** TagNameOnly: adds ":latest" to a reference with neither tag nor digest. */
export function tagNameOnly(ref: Reference): Reference {
  if (ref.tag === undefined && ref.digest === undefined) return { ...ref, tag: DEFAULT_TAG };
  return ref;
}

/** The repository name in full: docker.io/library/busybox. */
export function fullName(ref: Reference): string {
  return ref.domain ? `${ref.domain}/${ref.path}` : ref.path;
}

export function referenceString(ref: Reference): string {
  return fullName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** FamiliarName: busybox, user/app, localhost:5000/a/b. */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return fullName(ref);
  if (ref.path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = ref.path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return ref.path;
}

/** FamiliarString: busybox:latest, busybox@sha256:…. */
export function familiarString(ref: Reference): string {
  return familiarName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** Normalises a reference for storage: a tag ref keeps its tag (default latest); a digest ref drops the tag. */
export function normalizeForStore(ref: Reference): Reference {
  if (ref.digest !== undefined) return { domain: ref.domain, path: ref.path, digest: ref.digest };
  return tagNameOnly(ref);
}

export function validateTag(tag: string): void {
  if (!anchoredTagRegexp.test(tag)) throw new InvalidParameterError('invalid tag format');
}

/** Go's path.Match, as FamiliarMatch uses it. Throws on a malformed pattern. */
export function pathMatch(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= pattern.length) throw new InvalidParameterError('syntax error in pattern');
      re += escapeRe(pattern[++i]!);
    } else if (c === '[') {
      let j = i + 1;
      let cls = '';
      if (pattern[j] === '^') {
        cls += '^';
        j++;
      }
      let first = true;
      for (; j < pattern.length && (first || pattern[j] !== ']'); j++) {
        first = false;
        let ch = pattern[j]!;
        if (ch === '\\') {
          if (++j >= pattern.length) throw new InvalidParameterError('syntax error in pattern');
          ch = pattern[j]!;
        }
        if (ch === '-' && cls !== '' && cls !== '^' && pattern[j + 1] !== ']' && j + 1 < pattern.length) {
          cls += '-';
          continue;
        }
        cls += escapeRe(ch);
      }
      if (j >= pattern.length || cls === '' || cls === '^') throw new InvalidParameterError('syntax error in pattern');
      // Go's character classes never match the separator.
      re += cls.startsWith('^') ? `(?!/)[${cls}]` : `[${cls}]`;
      i = j;
    } else re += escapeRe(c);
  }
  return new RegExp(re + '$', 's').test(name);
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

/** FamiliarMatch: the pattern against "busybox:latest", then against "busybox". */
export function familiarMatch(pattern: string, ref: Reference): boolean {
  return pathMatch(pattern, familiarString(ref)) || pathMatch(pattern, familiarName(ref));
}
