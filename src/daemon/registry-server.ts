import { InvalidParameterError, SystemError, errorMessage } from '../errors/index.js';
import { RegistryServer, parseListenAddress } from '../registry/index.js';
import type { DaemonConfig } from './config.js';

/**
 * berth's registry server inside berthd, when daemon.json's `registry` asks
 * for it: the same server as `berth registry serve`, sharing the daemon's life.
 * Returns the cleanup that stops it.
 */
export async function startRegistryServer(
  settings: NonNullable<DaemonConfig['registry']>,
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void,
): Promise<() => Promise<void>> {
  const at = parseListenAddress(settings.addr);
  if (!at) throw new InvalidParameterError(`invalid registry addr ${JSON.stringify(settings.addr)} in daemon.json: expected HOST:PORT`);
  if (Boolean(settings['tls-cert']) !== Boolean(settings['tls-key'])) throw new InvalidParameterError('registry tls-cert and tls-key in daemon.json go together');
  const server = new RegistryServer({
    root: settings.root,
    ...(settings.htpasswd ? { htpasswd: settings.htpasswd } : {}),
    ...(settings['tls-cert'] ? { tlsCert: settings['tls-cert'], tlsKey: settings['tls-key']! } : {}),
    ...(settings['max-upload-size'] ? { maxUploadSize: settings['max-upload-size'] } : {}),
    log: (line) => log('debug', `registry: ${line}`),
  });
  try {
    const addr = await server.listen(at.host, at.port);
    log('info', `registry server listening on ${settings['tls-cert'] ? 'https' : 'http'}://${settings.addr.replace(/:\d+$/, '')}:${addr.port}, storage ${settings.root}`);
  } catch (err) {
    throw new SystemError(`registry server: listen tcp ${settings.addr}: ${errorMessage(err)}`, { cause: err });
  }
  return () => server.close();
}
