import { arch, platform } from 'node:os';
import { CLIENT_API_VERSION } from '../../client/index.js';
import type { SystemVersion } from '../../types/engine.js';
import { StatusError, type CommandImpl } from '../command.js';
import { parseTemplate, TabWriter, TemplateError, type Template } from '../format/index.js';
import { cliVersion } from '../version.js';
import { INSPECT_FORMAT_HELP } from '../options/container-options.js';

// `berth version`: this CLI's version and the daemon's, in docker's layout
// (or a --format template over the same {Client, Server} data).

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

export interface ClientVersion {
  Version: string;
  ApiVersion: string;
  DefaultAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  BuildTime: string;
  Context: string;
}

export async function clientVersion(context = 'default'): Promise<ClientVersion> {
  return withApiVersionAlias({
    Version: await cliVersion(),
    ApiVersion: CLIENT_API_VERSION,
    DefaultAPIVersion: CLIENT_API_VERSION,
    GitCommit: '',
    GoVersion: process.version,
    Os: platform(),
    Arch: GO_ARCH[arch()] ?? arch(),
    BuildTime: '',
    Context: context,
  });
}

const ANSIC_DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const ANSIC_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** docker's reformatDate: RFC 3339 build times are shown in Go's ANSIC layout (UTC). */
export function reformatDate(buildTime: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T/.test(buildTime)) return buildTime;
  const d = new Date(buildTime);
  if (Number.isNaN(d.getTime())) return buildTime;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${ANSIC_DAYS[d.getUTCDay()]} ${ANSIC_MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** The daemon's answer with an Engine component (added from the top-level fields when missing). */
export function normalizeServerVersion(sv: SystemVersion): SystemVersion {
  const components = (sv.Components ?? []).map((c) => (c.Name === 'Engine' && c.Details?.BuildTime !== undefined ? { ...c, Details: { ...c.Details, BuildTime: reformatDate(c.Details.BuildTime) } } : c));
  if (!components.some((c) => c.Name === 'Engine')) {
    components.push({
      Name: 'Engine',
      Version: sv.Version,
      Details: {
        ApiVersion: sv.ApiVersion,
        MinAPIVersion: sv.MinAPIVersion,
        GitCommit: sv.GitCommit,
        GoVersion: sv.GoVersion,
        Os: sv.Os,
        Arch: sv.Arch,
        BuildTime: reformatDate(sv.BuildTime),
        Experimental: String(sv.Experimental ?? false),
      },
    });
  }
  return withApiVersionAlias({ ...sv, Components: components });
}

/**
 * docker's Go structs name the field APIVersion while its JSON says
 * ApiVersion; templates use the former (`{{.Server.APIVersion}}`). A
 * non-enumerable getter serves templates without changing `{{json .}}`.
 */
export function withApiVersionAlias<T extends { ApiVersion: string }>(v: T): T {
  Object.defineProperty(v, 'APIVersion', { get: () => v.ApiVersion, enumerable: false });
  return v;
}

/** docker's default version template, written out (lines with a tab are aligned by the tabwriter). */
export function defaultVersionText(client: ClientVersion, server: SystemVersion | undefined): string {
  const lines = [
    'Client:',
    ` Version:\t${client.Version}`,
    ` API version:\t${client.ApiVersion}${client.ApiVersion !== client.DefaultAPIVersion ? ` (downgraded from ${client.DefaultAPIVersion})` : ''}`,
    ` Go version:\t${client.GoVersion}`,
    ` Git commit:\t${client.GitCommit}`,
    ` Built:\t${client.BuildTime}`,
    ` OS/Arch:\t${client.Os}/${client.Arch}`,
    ` Context:\t${client.Context}`,
  ];
  if (server) {
    lines.push('', `Server:${server.Platform?.Name ? ` ${server.Platform.Name}` : ''}`);
    for (const c of server.Components ?? []) {
      const d = c.Details ?? {};
      lines.push(` ${c.Name}:`);
      if (c.Name === 'Engine') {
        lines.push(
          `  Version:\t${c.Version}`,
          `  API version:\t${d.ApiVersion ?? ''} (minimum version ${d.MinAPIVersion ?? ''})`,
          `  Go version:\t${d.GoVersion ?? ''}`,
          `  Git commit:\t${d.GitCommit ?? ''}`,
          `  Built:\t${d.BuildTime ?? ''}`,
          `  OS/Arch:\t${d.Os ?? ''}/${d.Arch ?? ''}`,
          `  Experimental:\t${d.Experimental ?? ''}`,
        );
      } else {
        lines.push(`  Version:\t${c.Version}`);
        for (const key of Object.keys(d).sort()) lines.push(`  ${key}:\t${d[key]}`);
      }
    }
  }
  return lines.join('\n');
}

function align(text: string): string {
  const w = new TabWriter({ minwidth: 20, tabwidth: 1, padding: 1, padchar: ' ' });
  w.write(text);
  w.write('\n');
  return w.flush();
}

export const versionCommand: CommandImpl<{ format: string }> = {
  flags: [{ name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP }],
  args: { kind: 'none' },
  async run(ctx, values) {
    let template: Template | undefined;
    if (values.format) {
      try {
        template = parseTemplate(values.format === 'json' ? '{{json .}}' : values.format, { name: 'version' });
      } catch (err) {
        if (err instanceof TemplateError) throw new StatusError(`template parsing error: ${err.message}`, 64);
        throw err;
      }
    }
    const client = await clientVersion(ctx.globals.context ?? 'default');
    let server: SystemVersion | undefined;
    let failure: unknown;
    try {
      server = normalizeServerVersion(await ctx.client().version());
    } catch (err) {
      failure = err;
    }
    if (template) {
      let out = '';
      try {
        out = template.execute({ Client: client, Server: server ?? null });
      } catch (err) {
        if (failure === undefined) throw new StatusError((err as Error).message, 1);
      }
      ctx.out(align(out));
    } else {
      ctx.out(align(defaultVersionText(client, server)));
    }
    if (failure !== undefined) throw failure;
    return 0;
  },
};
