import { StatusError, type CommandImpl } from '../command.js';

// `berth port`: the published ports from inspect's NetworkSettings.Ports, as docker prints them.

export const portCommand: CommandImpl = {
  flags: [],
  args: { kind: 'range', min: 1, max: 2 },
  async run(ctx, _values, [container, wanted]) {
    const c = await ctx.client().containerInspect(container!);
    const ports = (c.NetworkSettings?.Ports ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
    const show = (b: { HostIp: string; HostPort: string }) => (b.HostIp.includes(':') ? `[${b.HostIp}]:${b.HostPort}` : `${b.HostIp || '0.0.0.0'}:${b.HostPort}`);
    if (wanted) {
      const [port, proto = 'tcp'] = wanted.split('/');
      const key = `${port}/${proto}`;
      const bindings = ports[key];
      if (!bindings?.length) throw new StatusError(`Error: No public port '${wanted}' published for ${container}`, 1);
      ctx.out(bindings.map((b) => `${show(b)}\n`).join(''));
      return 0;
    }
    let out = '';
    for (const [key, bindings] of Object.entries(ports)) for (const b of bindings ?? []) out += `${key} -> ${show(b)}\n`;
    ctx.out(out);
    return 0;
  },
};
