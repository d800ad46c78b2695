import { StatusError, type CommandImpl } from '../command.js';

// `berth registry serve`: berth's own registry server in the foreground, and
// `berth registry garbage-collect` for its storage. No daemon is involved:
// the server owns its --root directory alone.

interface ServeValues {
  addr: string;
  root: string;
  htpasswd: string;
  tlsCert: string;
  tlsKey: string;
  maxUploadSize: number;
}

export const registryServeCommand: CommandImpl<ServeValues> = {
  flags: [
    { name: 'addr', kind: 'string', usage: 'Address to listen on (HOST:PORT)', default: '127.0.0.1:5000' },
    { name: 'root', kind: 'string', usage: 'Storage directory', default: '/var/lib/berth/registry' },
    { name: 'htpasswd', kind: 'string', usage: 'htpasswd file (bcrypt): require Basic auth' },
    { name: 'tls-cert', kind: 'string', usage: 'TLS certificate file (PEM)' },
    { name: 'tls-key', kind: 'string', usage: 'TLS key file (PEM)' },
    { name: 'max-upload-size', kind: 'int', type: 'bytes', usage: 'Largest blob accepted, in bytes (0: 32 GiB)', default: 0 },
  ],
  args: { kind: 'none' },
  async run(ctx, v) {
    if (Boolean(v.tlsCert) !== Boolean(v.tlsKey)) throw new StatusError('--tls-cert and --tls-key go together', 125);
    const { RegistryServer, parseListenAddress } = await import('../../registry/index.js');
    const listenAt = parseListenAddress(v.addr);
    if (!listenAt) throw new StatusError(`invalid --addr ${JSON.stringify(v.addr)}: expected HOST:PORT`, 125);
    const { host, port } = listenAt;
    const server = new RegistryServer({
      root: v.root,
      ...(v.htpasswd ? { htpasswd: v.htpasswd } : {}),
      ...(v.tlsCert ? { tlsCert: v.tlsCert, tlsKey: v.tlsKey } : {}),
      ...(v.maxUploadSize > 0 ? { maxUploadSize: v.maxUploadSize } : {}),
      log: (line) => ctx.err(`${line}\n`),
    });
    let addr;
    try {
      addr = await server.listen(host, port);
    } catch (err) {
      throw new StatusError(`listen tcp ${v.addr}: ${(err as Error).message}`, 1);
    }
    ctx.err(`berth registry listening on ${v.tlsCert ? 'https' : 'http'}://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}, storage ${v.root}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await server.close();
    return 0;
  },
};

export const registryGcCommand: CommandImpl<{ root: string }> = {
  flags: [{ name: 'root', kind: 'string', usage: 'Storage directory', default: '/var/lib/berth/registry' }],
  args: { kind: 'none' },
  async run(ctx, v) {
    const { RegistryStorage } = await import('../../registry/index.js');
    const storage = new RegistryStorage(v.root);
    await storage.init();
    const { deleted } = await storage.garbageCollect();
    for (const d of deleted) ctx.out(`blob eligible for deletion: ${d}\n`);
    ctx.out(`${deleted.length} blobs deleted\n`);
    return 0;
  },
};
