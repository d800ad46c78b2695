import type { StepHost } from './build-job.js';
import { StepError, envMap, removesStepContainers, short } from './build-job.js';
import { platformWarning } from './base-image.js';
import { cacheKey } from './cache.js';
import type { RunCmd } from './instructions.js';
import { mountCacheKey, parseRunMount, prepareRunMounts, type RunMounts } from './run-mounts.js';

// The RUN step: the command (exec form, shell form through SHELL, or a
// heredoc script) run in a container on the previous step's image, with the
// build args in use in its environment and in its history text
// ("|1 V=2 /bin/sh -c make"); what it changed becomes the step's layer.
// The container is removed after the step as removesStepContainers says.

const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

/** The argv a RUN executes. */
function commandLine(cmd: RunCmd, shell: string[]): string[] {
  if (cmd.cmd.json) return cmd.cmd.args;
  // `RUN <<EOF` alone: the body is the script.
  if (cmd.heredocs.length === 1 && /^\d*<<-?\s*["']?[^\s]+["']?$/.test(cmd.cmd.text.trim())) return [...shell, cmd.heredocs[0]!.content];
  // Heredocs with a command: the shell reads them itself.
  if (cmd.heredocs.length > 0) return [...shell, `${cmd.cmd.text}\n${cmd.heredocs.map((h) => `${h.content}${h.name}\n`).join('')}`];
  return [...shell, cmd.cmd.text];
}

export async function runStep(host: StepHost, cmd: RunCmd): Promise<void> {
  const { job } = host;
  const argv = commandLine(cmd, host.shell);
  // Build args in use reach the command's environment and the cache key ("|N k=v …").
  const env = envMap(host.runConfig.Env);
  const argEnv: string[] = [];
  for (const [k, v] of [...host.args].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (v !== undefined && !env.has(k)) argEnv.push(`${k}=${v}`);
  }
  // Predefined proxy args reach the command but never the history.
  const proxies: string[] = [];
  for (const p of PROXY_ARGS) {
    const v = job.settings.buildArgs.get(p);
    if (v !== undefined && !host.args.has(p) && !env.has(p)) {
      proxies.push(`${p}=${v}`);
      job.consumedArgs.add(p);
    }
  }
  const createdBy = (argEnv.length > 0 ? `|${argEnv.length} ${argEnv.join(' ')} ` : '') + argv.join(' ');
  const network = cmd.network && cmd.network !== 'default' ? cmd.network : job.settings.networkMode;
  const mountSpecs = cmd.mounts.map((m) => parseRunMount(m, (s) => host.word(s), host.runConfig.WorkingDir ?? ''));
  if (mountSpecs.some((m) => m.type === 'bind' && m.from === undefined)) await job.contextReady();
  const key = cacheKey({ parent: host.imageId, instruction: createdBy, extra: { network, mounts: await mountCacheKey(mountSpecs, job.contextDir) } });
  if (await host.lookupCache(key, createdBy)) return;
  const releases: Array<() => Promise<void>> = [];
  try {
    const mounts = await prepareRunMounts(host, mountSpecs, releases);
    await execRun(host, argv, [...argEnv, ...proxies], network, mounts, createdBy, key);
  } finally {
    for (const r of releases) await r();
  }
}

async function execRun(host: StepHost, argv: string[], extraEnv: string[], network: string, mounts: RunMounts, createdBy: string, key: string): Promise<void> {
  if (!host.imageId) await host.ensureImage();
  const { steps } = host.job.deps;
  const s = host.job.settings;
  let containerId = '';
  try {
    const result = await steps.run({
      image: host.imageId,
      cmd: argv,
      env: [...(host.runConfig.Env ?? []), ...extraEnv],
      workdir: host.runConfig.WorkingDir ?? '',
      user: host.runConfig.User ?? '',
      networkMode: network,
      extraHosts: s.extraHosts,
      resources: s.resources,
      onCreated: (id, warnings) => {
        containerId = id;
        const platform = platformWarning(host.config);
        for (const w of [...(platform ? [platform] : []), ...warnings]) host.out.stream(` ---> [Warning] ${w}\n`);
        host.out.stream(` ---> Running in ${short(id)}\n`);
      },
      // dockerd marks what the command wrote to stderr in bright red, chunk by chunk.
      onOutput: (stream, data) => host.out.stream(stream === 'stderr' ? `\x1b[91m${data.toString('utf8')}\x1b[0m` : data.toString('utf8')),
      signal: host.job.signal,
      ...(mounts.length ? { mounts } : {}),
    });
    if (result.exitCode !== 0) {
      throw new StepError(`The command '${argv.join(' ')}' returned a non-zero code: ${result.exitCode}`, result.exitCode);
    }
    const diff = await result.diff();
    try {
      await host.commitLayer(diff.stream, createdBy, key);
    } finally {
      await diff.release();
    }
  } finally {
    if (containerId && removesStepContainers(s)) await host.removeContainer(containerId);
  }
}
