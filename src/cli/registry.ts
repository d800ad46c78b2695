import type { CommandEntry, CommandImpl, GroupEntry } from './command.js';

// Every command berth knows, with docker's names, usage lines and texts.
// Implementations load lazily, so starting `berth` costs only the one
// command that runs.

type Loader = () => Promise<CommandImpl>;

const load = {
  run: () => import('./commands/container-run.js').then((m) => m.runCommand),
  create: () => import('./commands/container-run.js').then((m) => m.createCommand),
  start: () => import('./commands/container-lifecycle.js').then((m) => m.startCommand),
  stop: () => import('./commands/container-lifecycle.js').then((m) => m.stopCommand),
  kill: () => import('./commands/container-lifecycle.js').then((m) => m.killCommand),
  rm: () => import('./commands/container-lifecycle.js').then((m) => m.rmCommand),
  restart: () => import('./commands/container-lifecycle.js').then((m) => m.restartCommand),
  rename: () => import('./commands/container-lifecycle.js').then((m) => m.renameCommand),
  wait: () => import('./commands/container-lifecycle.js').then((m) => m.waitCommand),
  attach: () => import('./commands/container-attach.js').then((m) => m.attachCommand),
  exec: () => import('./commands/container-exec.js').then((m) => m.execCommand),
  cp: () => import('./commands/container-cp.js').then((m) => m.cpCommand),
  diff: () => import('./commands/container-diff-export.js').then((m) => m.diffCommand),
  commit: () => import('./commands/container-commit.js').then((m) => m.commitCommand),
  export: () => import('./commands/container-diff-export.js').then((m) => m.exportCommand),
  update: () => import('./commands/container-update.js').then((m) => m.updateCommand),
  imagePrune: () => import('./commands/system-prune.js').then((m) => m.imagePruneCommand),
  containerPrune: () => import('./commands/container-prune.js').then((m) => m.containerPruneCommand),
  port: () => import('./commands/container-port.js').then((m) => m.portCommand),
  top: () => import('./commands/container-top.js').then((m) => m.topCommand),
  stats: () => import('./commands/container-stats.js').then((m) => m.statsCommand),
  pause: () => import('./commands/container-control.js').then((m) => m.pauseCommand),
  unpause: () => import('./commands/container-control.js').then((m) => m.unpauseCommand),
  ps: () => import('./commands/container-list.js').then((m) => m.psCommand),
  logs: () => import('./commands/container-logs.js').then((m) => m.logsCommand),
  inspect: () => import('./commands/inspect.js').then((m) => m.inspectCommand),
  containerInspect: () => import('./commands/inspect.js').then((m) => m.containerInspectCommand),
  imageInspect: () => import('./commands/inspect.js').then((m) => m.imageInspectCommand),
  images: () => import('./commands/image-list.js').then((m) => m.imagesCommand),
  rmi: () => import('./commands/image-manage.js').then((m) => m.rmiCommand),
  tag: () => import('./commands/image-manage.js').then((m) => m.tagCommand),
  import: () => import('./commands/image-import.js').then((m) => m.importCommand),
  history: () => import('./commands/image-history.js').then((m) => m.historyCommand),
  version: () => import('./commands/system-version.js').then((m) => m.versionCommand),
  info: () => import('./commands/system-info.js').then((m) => m.infoCommand),
  events: () => import('./commands/system-events.js').then((m) => m.eventsCommand),
  systemDf: () => import('./commands/system-df.js').then((m) => m.systemDfCommand),
  volumeCreate: () => import('./commands/volume.js').then((m) => m.volumeCreateCommand),
  volumeList: () => import('./commands/volume.js').then((m) => m.volumeListCommand),
  volumeInspect: () => import('./commands/volume.js').then((m) => m.volumeInspectCommand),
  volumeRemove: () => import('./commands/volume.js').then((m) => m.volumeRemoveCommand),
  systemPrune: () => import('./commands/system-prune.js').then((m) => m.systemPruneCommand),
  volumePrune: () => import('./commands/volume.js').then((m) => m.volumePruneCommand),
  pull: () => import('./commands/image-distribution.js').then((m) => m.pullCommand),
  push: () => import('./commands/image-distribution.js').then((m) => m.pushCommand),
  login: () => import('./commands/image-distribution.js').then((m) => m.loginCommand),
  logout: () => import('./commands/image-distribution.js').then((m) => m.logoutCommand),
  save: () => import('./commands/image-distribution.js').then((m) => m.saveCommand),
  load: () => import('./commands/image-distribution.js').then((m) => m.loadCommand),
  registryServe: () => import('./commands/registry-serve.js').then((m) => m.registryServeCommand),
  registryGc: () => import('./commands/registry-serve.js').then((m) => m.registryGcCommand),
  build: () => import('./commands/image-build.js').then((m) => m.buildCommand),
  builderPrune: () => import('./commands/image-build.js').then((m) => m.builderPruneCommand),
  networkCreate: () => import('./commands/network-commands.js').then((m) => m.networkCreateCommand),
  networkLs: () => import('./commands/network-commands.js').then((m) => m.networkLsCommand),
  networkInspect: () => import('./commands/network-commands.js').then((m) => m.networkInspectCommand),
  networkRm: () => import('./commands/network-commands.js').then((m) => m.networkRmCommand),
  networkPrune: () => import('./commands/network-commands.js').then((m) => m.networkPruneCommand),
  networkConnect: () => import('./commands/network-commands.js').then((m) => m.networkConnectCommand),
  networkDisconnect: () => import('./commands/network-commands.js').then((m) => m.networkDisconnectCommand),
} satisfies Record<string, Loader>;

function entry(e: Omit<CommandEntry, 'load'>, loader: Loader): CommandEntry {
  return { ...e, load: loader };
}

const run = entry(
  { name: 'run', use: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]', short: 'Create and run a new container from an image', aliasesLine: 'berth container run, berth run', commonOrder: 1 },
  load.run,
);
const create = entry({ name: 'create', use: 'create [OPTIONS] IMAGE [COMMAND] [ARG...]', short: 'Create a new container', aliasesLine: 'berth container create, berth create' }, load.create);
const start = entry({ name: 'start', use: 'start [OPTIONS] CONTAINER [CONTAINER...]', short: 'Start one or more stopped containers', aliasesLine: 'berth container start, berth start' }, load.start);
const stop = entry({ name: 'stop', use: 'stop [OPTIONS] CONTAINER [CONTAINER...]', short: 'Stop one or more running containers', aliasesLine: 'berth container stop, berth stop' }, load.stop);
const kill = entry({ name: 'kill', use: 'kill [OPTIONS] CONTAINER [CONTAINER...]', short: 'Kill one or more running containers', aliasesLine: 'berth container kill, berth kill' }, load.kill);
const rm = entry(
  { name: 'rm', aliases: ['remove'], use: 'rm [OPTIONS] CONTAINER [CONTAINER...]', short: 'Remove one or more containers', aliasesLine: 'berth container rm, berth container remove, berth rm' },
  load.rm,
);
const restart = entry({ name: 'restart', use: 'restart [OPTIONS] CONTAINER [CONTAINER...]', short: 'Restart one or more containers', aliasesLine: 'berth container restart, berth restart' }, load.restart);
const rename = entry({ name: 'rename', use: 'rename CONTAINER NEW_NAME', short: 'Rename a container', aliasesLine: 'berth container rename, berth rename' }, load.rename);
const wait = entry(
  { name: 'wait', use: 'wait CONTAINER [CONTAINER...]', short: 'Block until one or more containers stop, then print their exit codes', aliasesLine: 'berth container wait, berth wait' },
  load.wait,
);
const attach = entry(
  { name: 'attach', use: 'attach [OPTIONS] CONTAINER', short: 'Attach local standard input, output, and error streams to a running container', aliasesLine: 'berth container attach, berth attach' },
  load.attach,
);
const exec = entry(
  { name: 'exec', use: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]', short: 'Execute a command in a running container', aliasesLine: 'berth container exec, berth exec', commonOrder: 2 },
  load.exec,
);
const pause = entry({ name: 'pause', use: 'pause CONTAINER [CONTAINER...]', short: 'Pause all processes within one or more containers', aliasesLine: 'berth container pause, berth pause' }, load.pause);
const unpause = entry(
  { name: 'unpause', use: 'unpause CONTAINER [CONTAINER...]', short: 'Unpause all processes within one or more containers', aliasesLine: 'berth container unpause, berth unpause' },
  load.unpause,
);
const cp = entry(
  {
    name: 'cp',
    use: 'cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
    short: 'Copy files/folders between a container and the local filesystem',
    aliasesLine: 'berth container cp, berth cp',
  },
  load.cp,
);
const commit = entry({ name: 'commit', use: 'commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]', short: "Create a new image from a container's changes", aliasesLine: 'berth container commit, berth commit' }, load.commit);
const diff = entry({ name: 'diff', use: 'diff CONTAINER', short: "Inspect changes to files or directories on a container's filesystem", aliasesLine: 'berth container diff, berth diff' }, load.diff);
const exportEntry = entry({ name: 'export', use: 'export [OPTIONS] CONTAINER', short: "Export a container's filesystem as a tar archive", aliasesLine: 'berth container export, berth export' }, load.export);
const update = entry({ name: 'update', use: 'update [OPTIONS] CONTAINER [CONTAINER...]', short: 'Update configuration of one or more containers', aliasesLine: 'berth container update, berth update' }, load.update);
const port = entry({ name: 'port', use: 'port CONTAINER [PRIVATE_PORT[/PROTO]]', short: 'List port mappings or a specific mapping for the container', aliasesLine: 'berth container port, berth port' }, load.port);
const top = entry({ name: 'top', use: 'top CONTAINER [ps OPTIONS]', short: 'Display the running processes of a container', aliasesLine: 'berth container top, berth top' }, load.top);
const stats = entry(
  { name: 'stats', use: 'stats [OPTIONS] [CONTAINER...]', short: 'Display a live stream of container(s) resource usage statistics', aliasesLine: 'berth container stats, berth stats' },
  load.stats,
);
const psAliases = 'berth container ls, berth container list, berth container ps, berth ps';
const ps = entry({ name: 'ps', use: 'ps [OPTIONS]', short: 'List containers', aliasesLine: psAliases, commonOrder: 3 }, load.ps);
const logs = entry({ name: 'logs', use: 'logs [OPTIONS] CONTAINER', short: 'Fetch the logs of a container', aliasesLine: 'berth container logs, berth logs' }, load.logs);
const inspect = entry({ name: 'inspect', use: 'inspect [OPTIONS] NAME|ID [NAME|ID...]', short: 'Return low-level information on berth objects' }, load.inspect);
const imagesAliases = 'berth image ls, berth image list, berth images';
const images = entry({ name: 'images', use: 'images [OPTIONS] [REPOSITORY[:TAG]]', short: 'List images', aliasesLine: imagesAliases, commonOrder: 7 }, load.images);
const rmiAliases = 'berth image rm, berth image remove, berth rmi';
const rmi = entry({ name: 'rmi', use: 'rmi [OPTIONS] IMAGE [IMAGE...]', short: 'Remove one or more images', aliasesLine: rmiAliases }, load.rmi);
const tag = entry(
  { name: 'tag', use: 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', aliasesLine: 'berth image tag, berth tag' },
  load.tag,
);
const importEntry = entry(
  {
    name: 'import',
    use: 'import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
    short: 'Import the contents from a tarball to create a filesystem image',
    aliasesLine: 'berth image import, berth import',
  },
  load.import,
);
const history = entry({ name: 'history', use: 'history [OPTIONS] IMAGE', short: 'Show the history of an image', aliasesLine: 'berth image history, berth history' }, load.history);
const version = entry({ name: 'version', use: 'version [OPTIONS]', short: 'Show the berth version information', commonOrder: 10 }, load.version);
const info = entry({ name: 'info', use: 'info [OPTIONS]', short: 'Display system-wide information', aliasesLine: 'berth system info, berth info', commonOrder: 12 }, load.info);
const events = entry({ name: 'events', use: 'events [OPTIONS]', short: 'Get real time events from the server', aliasesLine: 'berth system events, berth events' }, load.events);

const build = entry({ name: 'build', use: 'build [OPTIONS] PATH | URL | -', short: 'Build an image from a Dockerfile', aliasesLine: 'berth image build, berth build, berth builder build', commonOrder: 4 }, load.build);
const builderPrune = entry({ name: 'prune', use: 'prune', short: 'Remove build cache' }, load.builderPrune);

const pull = entry({ name: 'pull', use: 'pull [OPTIONS] NAME[:TAG|@DIGEST]', short: 'Download an image from a registry', aliasesLine: 'berth image pull, berth pull', commonOrder: 5 }, load.pull);
const push = entry({ name: 'push', use: 'push [OPTIONS] NAME[:TAG]', short: 'Upload an image to a registry', aliasesLine: 'berth image push, berth push', commonOrder: 6 }, load.push);
const login = entry({ name: 'login', use: 'login [OPTIONS] [SERVER]', short: 'Authenticate to a registry', commonOrder: 8 }, load.login);
const logout = entry({ name: 'logout', use: 'logout [SERVER]', short: 'Log out from a registry', commonOrder: 9 }, load.logout);
const save = entry({ name: 'save', use: 'save [OPTIONS] IMAGE [IMAGE...]', short: 'Save one or more images to a tar archive (streamed to STDOUT by default)', aliasesLine: 'berth image save, berth save' }, load.save);
const loadEntry = entry({ name: 'load', use: 'load [OPTIONS]', short: 'Load an image from a tar archive or STDIN', aliasesLine: 'berth image load, berth load' }, load.load);

/** Top-level commands (`berth run`, `berth ps`, …). */
export const COMMANDS: readonly CommandEntry[] = [
  run, exec, create, start, stop, kill, rm, restart, rename, wait, attach, commit, cp, diff, exportEntry, pause, unpause, port, top, stats, update, ps, logs, inspect, images, rmi, tag, importEntry, history, version, info, events,
  build, pull, push, login, logout, save, loadEntry,
];

/** `berth container …`, `berth image …`, `berth system …`. */
export const GROUPS: readonly GroupEntry[] = [
  {
    name: 'container',
    short: 'Manage containers',
    subcommands: [
      attach,
      commit,
      cp,
      create,
      diff,
      { ...exec, commonOrder: undefined },
      exportEntry,
      entry({ name: 'inspect', use: 'inspect [OPTIONS] CONTAINER [CONTAINER...]', short: 'Display detailed information on one or more containers' }, load.containerInspect),
      kill,
      logs,
      { ...ps, name: 'ls', aliases: ['ps', 'list'], use: 'ls [OPTIONS]', commonOrder: undefined },
      pause,
      port,
      entry({ name: 'prune', use: 'prune [OPTIONS]', short: 'Remove all stopped containers' }, load.containerPrune),
      rename,
      restart,
      rm,
      { ...run, commonOrder: undefined },
      start,
      stats,
      stop,
      top,
      unpause,
      update,
      wait,
    ],
  },
  {
    name: 'image',
    short: 'Manage images',
    subcommands: [
      { ...build, aliases: [], commonOrder: undefined },
      history,
      importEntry,
      entry({ name: 'inspect', use: 'inspect [OPTIONS] IMAGE [IMAGE...]', short: 'Display detailed information on one or more images' }, load.imageInspect),
      { ...images, name: 'ls', aliases: ['list'], use: 'ls [OPTIONS] [REPOSITORY[:TAG]]', commonOrder: undefined },
      loadEntry,
      entry({ name: 'prune', use: 'prune [OPTIONS]', short: 'Remove unused images' }, load.imagePrune),
      { ...pull, commonOrder: undefined },
      { ...push, commonOrder: undefined },
      { ...rmi, name: 'rm', aliases: ['rmi', 'remove'], use: 'rm [OPTIONS] IMAGE [IMAGE...]' },
      save,
      tag,
    ],
  },
  {
    name: 'registry',
    short: "Run berth's own registry server",
    subcommands: [
      entry({ name: 'serve', use: 'serve [OPTIONS]', short: 'Serve the OCI Distribution (registry v2) API from a storage directory' }, load.registryServe),
      entry({ name: 'garbage-collect', aliases: ['gc'], use: 'garbage-collect [OPTIONS]', short: 'Delete blobs no manifest of the registry refers to' }, load.registryGc),
    ],
  },
  {
    name: 'builder',
    short: 'Manage builds',
    subcommands: [{ ...build, aliases: [], commonOrder: undefined }, builderPrune],
  },
  {
    name: 'network',
    short: 'Manage networks',
    subcommands: [
      entry({ name: 'connect', use: 'connect [OPTIONS] NETWORK CONTAINER', short: 'Connect a container to a network' }, load.networkConnect),
      entry({ name: 'create', use: 'create [OPTIONS] NETWORK', short: 'Create a network' }, load.networkCreate),
      entry({ name: 'disconnect', use: 'disconnect [OPTIONS] NETWORK CONTAINER', short: 'Disconnect a container from a network' }, load.networkDisconnect),
      entry({ name: 'inspect', use: 'inspect [OPTIONS] NETWORK [NETWORK...]', short: 'Display detailed information on one or more networks' }, load.networkInspect),
      entry({ name: 'ls', aliases: ['list'], use: 'ls [OPTIONS]', short: 'List networks' }, load.networkLs),
      entry({ name: 'prune', use: 'prune [OPTIONS]', short: 'Remove all unused networks' }, load.networkPrune),
      entry({ name: 'rm', aliases: ['remove'], use: 'rm NETWORK [NETWORK...]', short: 'Remove one or more networks' }, load.networkRm),
    ],
  },
  {
    name: 'system',
    short: 'Manage berth',
    subcommands: [
      entry({ name: 'df', use: 'df [OPTIONS]', short: 'Show berth disk usage' }, load.systemDf),
      events,
      { ...info, commonOrder: undefined },
      entry({ name: 'prune', use: 'prune [OPTIONS]', short: 'Remove unused data' }, load.systemPrune),
    ],
  },
  {
    name: 'volume',
    short: 'Manage volumes',
    subcommands: [
      entry({ name: 'create', use: 'create [OPTIONS] [VOLUME]', short: 'Create a volume' }, load.volumeCreate),
      entry({ name: 'inspect', use: 'inspect [OPTIONS] VOLUME [VOLUME...]', short: 'Display detailed information on one or more volumes' }, load.volumeInspect),
      entry({ name: 'ls', aliases: ['list'], use: 'ls [OPTIONS]', short: 'List volumes' }, load.volumeList),
      entry({ name: 'prune', use: 'prune [OPTIONS]', short: 'Remove unused local volumes' }, load.volumePrune),
      entry({ name: 'rm', aliases: ['remove'], use: 'rm [OPTIONS] VOLUME [VOLUME...]', short: 'Remove one or more volumes' }, load.volumeRemove),
    ],
  },
];

export function findCommand(list: readonly CommandEntry[], name: string): CommandEntry | undefined {
  return list.find((c) => c.name === name) ?? list.find((c) => c.aliases?.includes(name));
}

export function findGroup(name: string): GroupEntry | undefined {
  return GROUPS.find((g) => g.name === name);
}
