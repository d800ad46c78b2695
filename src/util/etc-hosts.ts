// The /etc/hosts Docker writes for a container: loopback and the IPv6
// multicast names, then --add-host entries ("name:ip", `host-gateway` standing
// for the host's address on the default bridge).

export const BASE_HOSTS_LINES: readonly string[] = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** --add-host entries as hosts lines; `hostGateway` replaces the `host-gateway` keyword when known. */
export function extraHostsLines(extraHosts: readonly string[], hostGateway?: string): string[] {
  return extraHosts.map((h) => {
    const i = h.indexOf(':');
    const ip = h.slice(i + 1);
    return `${ip === 'host-gateway' && hostGateway ? hostGateway : ip}\t${h.slice(0, i)}`;
  });
}
