import { Command, Option } from 'commander';
import { mkdir, writeFile, unlink, readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { errorMessage } from '../errors/index.js';
import { imageBackend } from './image-backend.js';
import { ApiServer, Router, systemRoutes, containerRoutes, distributionRoutes, execRoutes, imageRoutes, networkRoutes, volumeRoutes, buildRoutes } from '../api/index.js';
import { VolumeService } from '../volume/index.js';
import { systemDf } from './system-df.js';
import { DistributionService } from '../distribution/index.js';
import { distributionBackend } from './distribution-backend.js';
import { buildBackend } from './build-backend.js';
import { startRegistryServer } from './registry-server.js';
import { EventBus } from '../events/index.js';
import { ContainerService } from '../container/index.js';
import { ConmonTaskService, OciRuntime, availableRuntimes, chooseRuntime, detectCgroupLayout, findExecutable } from '../runtime/index.js';
import { createSnapshotter } from '../snapshot/index.js';
import { LocalImageStore } from '../image/index.js';
import { NetworkService, findCniPath } from '../network/index.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { loadConfig, DEFAULTS, type DaemonConfig, type FlagValues } from './config.js';
import { acquireDataRootLock } from './lock.js';
import { ENGINE_VERSION, binaryVersion, operatingSystemName, systemInfo, systemVersion } from './system-info.js';
import { createLogger, type Logger } from './logger.js';
import { openListeners, planListeners } from './listeners.js';

/** Wires the subsystems together and serves the API until SIGTERM/SIGINT. */
export async function runDaemon(config: DaemonConfig, log: Logger): Promise<void> {
  const listenPlan = await planListeners(config, log);
  await mkdir(config.dataRoot, { recursive: true, mode: 0o711 });
  await mkdir(config.execRoot, { recursive: true, mode: 0o711 });
  const releaseLock = await acquireDataRootLock(join(config.dataRoot, 'berthd.lock'), config.dataRoot);
  const cleanups: Array<() => Promise<void> | void> = [releaseLock];
  try {
    await writeFile(config.pidfile, `${process.pid}\n`);
    cleanups.push(() => unlink(config.pidfile).catch(() => {}));

    const layout = detectCgroupLayout();
    const chosen = chooseRuntime(config.defaultRuntime, layout);
    const runtimeRoot = join(config.execRoot, 'runtime');
    const runtimes = new Map<string, OciRuntime>();
    for (const r of availableRuntimes(layout)) runtimes.set(r.name, new OciRuntime(r.name, r.path, join(runtimeRoot, r.name)));
    if (!runtimes.has(chosen.name)) runtimes.set(chosen.name, new OciRuntime(chosen.name, chosen.path, join(runtimeRoot, chosen.name)));
    const conmonPath = findExecutable('conmon');
    if (!conmonPath) throw new Error('conmon not found: install the conmon package');
    const initPath = findExecutable('tini-static') ?? findExecutable('docker-init');
    const socatPath = findExecutable('socat');
    if (!socatPath) throw new Error('socat not found: install the socat package (it carries stdin to containers)');

    const events = new EventBus();
    const snapshotter = await createSnapshotter(join(config.dataRoot, 'snapshots'), config.storageDriver === 'vfs' ? 'copy' : config.storageDriver ? 'overlay' : undefined);
    await snapshotter.cleanup();
    const volumes = new VolumeService({ root: join(config.dataRoot, 'volumes'), events, log });
    await volumes.init();
    const cniPath = findCniPath();
    if (!cniPath) throw new Error('CNI plugins not found: install the containernetworking-plugins package');
    const network = new NetworkService({
      root: join(config.dataRoot, 'network'),
      execRoot: join(config.execRoot, 'network'),
      events,
      log,
      bridgeName: config.bridge,
      bip: config.bip,
      pools: config.defaultAddressPools,
      iptables: config.iptables,
      ipForward: config.ipForward,
      dns: config.dns,
      cniPath,
      poolSize: Number(process.env.BERTH_NETWORK_POOL ?? 2),
    });
    await network.init();
    cleanups.push(() => network.close());
    let containers: ContainerService | undefined;
    const images = new LocalImageStore(join(config.dataRoot, 'image'), snapshotter, (id) => containers?.imageUsers(id) ?? []);
    await images.cleanup();
    const tasks = new ConmonTaskService({ execRoot: config.execRoot, runtimes, defaultRuntime: chosen.name, conmonPath, socatPath });
    containers = new ContainerService({
      root: join(config.dataRoot, 'containers'),
      images,
      snapshotter,
      tasks,
      scratchRoot: join(config.execRoot, 'mounts'),
      initPath,
      events,
      volumes,
      network,
      cgroupParent: config.cgroupParent,
      defaultLogConfig: config.logConfig,
      log,
    });
    const svcForLookup = containers;
    network.setContainerLookup({
      find: (ref) => {
        try {
          const v = svcForLookup.get(ref);
          return { id: v.id, name: v.name.slice(1), pid: v.pid, running: v.running };
        } catch {
          return undefined;
        }
      },
    });
    await containers.init();
    await volumes.settle();
    await network.forgetUnknown();
    cleanups.push(() => containers!.close());

    const distribution = new DistributionService(images, { insecureRegistries: config.insecureRegistries, registryMirrors: config.registryMirrors, certsDir: join(dirname(config.configFile), 'certs.d'), metadataRoot: join(config.dataRoot, 'image', 'distribution') }, {
      onPull: (name, id) => events.emit('image', 'pull', id, { name }),
      onPush: (name, id) => events.emit('image', 'push', id, { name }),
    });

    const engineId = await readOrCreateEngineId(join(config.dataRoot, 'engine-id'));
    const [runtimeVersion, conmonVersion, operatingSystem] = await Promise.all([binaryVersion(chosen.path), binaryVersion(conmonPath), operatingSystemName()]);
    const svc = containers;
    const images_ = imageBackend(images, svc, events, distribution);
    const builds = await buildBackend({ root: join(config.dataRoot, 'builder'), images, imageBackend: images_, snapshotter, containers: svc, events, log });
    const router = new Router()
      .add(systemRoutes({
        events,
        df: (types) => systemDf({ images, containers: svc, volumes, snapshotter, buildCache: () => builds.buildCache() }, types),
        version: async () => systemVersion({ runtimeName: chosen.name, runtimeVersion, conmonVersion }),
        info: async () => systemInfo({
          id: engineId,
          containers: svc.counts(),
          images: (await images.list()).length,
          driver: snapshotter.name,
          dataRoot: config.dataRoot,
          runtimes: Object.fromEntries([...runtimes].map(([name, r]) => [name, { path: r.path }])),
          defaultRuntime: chosen.name,
          cgroupLayout: layout,
          operatingSystem,
          debug: config.logLevel === 'debug',
          eventsListeners: 0,
          initBinary: initPath,
          loggingDriver: config.logConfig.Type,
        }),
      }))
      .add(containerRoutes(svc))
      .add(execRoutes(svc))
      .add(distributionRoutes(distributionBackend(images, distribution)))
      .add(networkRoutes(network))
      .add(imageRoutes(images_))
      .add(volumeRoutes(volumes))
      .add(buildRoutes(builds));

    const api = new ApiServer({ router, engineVersion: ENGINE_VERSION, log });
    cleanups.push(() => api.close());
    cleanups.push(...(await openListeners(api, listenPlan, log)));
    if (config.registry) cleanups.push(await startRegistryServer(config.registry, log));
    log('info', `berthd ${ENGINE_VERSION} started: data root ${config.dataRoot}, runtime ${chosen.name}, storage ${snapshotter.name}`);

    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        log('info', `received ${sig}, shutting down (containers keep running under conmon)`);
        resolve();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

async function readOrCreateEngineId(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const id = randomUUID();
    await writeFileAtomic(path, id + '\n');
    return id;
  }
}

export async function main(argv = process.argv): Promise<void> {
  const program = new Command('berthd')
    .description('A self-sufficient runtime for containers, serving the Docker Engine API')
    .addOption(new Option('-H, --host <socket...>', `Daemon socket(s) to connect to (default ${DEFAULTS.host})`))
    .option('--data-root <dir>', `Root directory of persistent berth state (default "${DEFAULTS.dataRoot}")`)
    .option('--exec-root <dir>', `Root directory for execution state files (default "${DEFAULTS.execRoot}")`)
    .option('-p, --pidfile <file>', 'Path to use for daemon PID file (default "<exec-root>/berthd.pid")')
    .option('--config-file <file>', `Daemon configuration file (default "${DEFAULTS.configFile}")`)
    .addOption(new Option('-l, --log-level <level>', 'Set the logging level').choices(['debug', 'info', 'warn', 'error', 'fatal']))
    .option('--default-runtime <name>', 'Default OCI runtime for containers (default: the first of runc, crun that works here)')
    .option('-s, --storage-driver <name>', 'Storage driver to use (overlay2 or vfs)')
    .option('--cgroup-parent <path>', `Parent cgroup for all containers (default "${DEFAULTS.cgroupParent}")`)
    .option('--log-driver <name>', 'Default driver for container logs (default "json-file")')
    .option('--log-opt <opt...>', 'Default log driver options for containers (key=value)')
    .option('-b, --bridge <name>', `Attach containers to a network bridge (default "${DEFAULTS.bridge}")`)
    .option('--bip <cidr>', 'Specify default-bridge IPv4 network')
    .addOption(new Option('--default-address-pool <pool...>', 'Default address pools for node specific local networks (base=CIDR,size=N)'))
    .option('--iptables [bool]', 'Enable addition of iptables rules (default true)')
    .option('--ip-forward [bool]', 'Enable IP forwarding in system configuration (default true)')
    .addOption(new Option('--dns <ip...>', 'DNS server to use'))
    .option('-D, --debug', 'Enable debug mode')
    .option('-G, --group <group>', `Group for the unix socket (default "${DEFAULTS.group}" when that group exists)`)
    .addOption(new Option('--tls [bool]', 'Use TLS; implied by --tlsverify'))
    .addOption(new Option('--tlsverify [bool]', 'Use TLS and verify the remote (clients must present a certificate signed by --tlscacert)'))
    .option('--tlscacert <file>', 'Trust certs signed only by this CA (default "~/.docker/ca.pem")')
    .option('--tlscert <file>', 'Path to TLS certificate file (default "~/.docker/cert.pem")')
    .option('--tlskey <file>', 'Path to TLS key file (default "~/.docker/key.pem")')
    .version(`berthd version ${ENGINE_VERSION}`, '-v, --version', 'Print version information and quit')
    .helpOption('--help', 'Print usage')
    .showHelpAfterError();
  program.parse(argv);
  // As dockerd: files and directories are made with predictable modes (private
  // state asks for 0600/0700 itself; hosts and resolv.conf must end up 0644).
  process.umask(0o022);
  const opts = program.opts<FlagValues>();
  const log = createLogger(opts.debug ? 'debug' : opts.logLevel ?? 'info');
  // One bad request or a socket error must not take every container's
  // daemon down: state is on disk, so log loudly and keep serving.
  process.on('uncaughtException', (err) => log('error', `uncaught exception: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => log('error', `unhandled rejection: ${err instanceof Error ? err.stack ?? err.message : String(err)}`));
  try {
    const config = await loadConfig(opts, opts.configFile !== undefined);
    await runDaemon(config, createLogger(config.logLevel));
    process.exit(0);
  } catch (err) {
    log('fatal', errorMessage(err));
    process.exit(1);
  }
}
