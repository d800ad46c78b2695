import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeContext } from '../helpers/build-context.js';
import { TestDaemon, type RunResult } from '../helpers/daemon.js';
import { startReferenceRegistry, type TestRegistry } from '../helpers/registry.js';
import { pushMultiArch } from '../helpers/multi-arch.js';
import { hostPlatform } from '../../src/image/platform.js';

// The classic builder as dockerd 20.10 runs it, seen through the real docker
// CLI (DOCKER_BUILDKIT=0) and the berth CLI against a test berthd. The
// expected transcripts below were recorded from a reference dockerd 20.10
// building the same Dockerfiles (IDs written <ID>); the images are checked by
// running them and through inspect and history.

const LEGACY = { DOCKER_BUILDKIT: '0' };

/** The build output as compared: the CLI's deprecation banner and progress carriage returns dropped, IDs as <ID>. */
function transcript(text: string): string {
  return text
    .replace(/\r/g, '')
    .replace(/^DEPRECATED: The legacy builder[\s\S]*?environment-variable\.\n\n/, '')
    .replace(/[0-9a-f]{12}/g, '<ID>');
}

interface ContainerSummary { Id: string; State: string; Command: string }
interface HistoryEntry { CreatedBy: string; Size: number }

/** One config step's output in a fresh build: its container, created and removed. */
const configStep = (n: string, text: string) => `Step ${n} : ${text}\n ---> Running in <ID>\nRemoving intermediate container <ID>\n ---> <ID>\n`;
const cachedStep = (n: string, text: string) => `Step ${n} : ${text}\n ---> Using cache\n ---> <ID>\n`;

const T1 = [
  'ARG BASE=busybox',
  'FROM $BASE',
  'MAINTAINER someone',
  'ENV A=1 B="two words"',
  'ARG V=3',
  'LABEL x=$V',
  'WORKDIR /app',
  'USER 1000',
  'EXPOSE 80',
  'VOLUME /data',
  'STOPSIGNAL SIGTERM',
  'HEALTHCHECK --interval=5s CMD true',
  'SHELL ["/bin/sh", "-c"]',
  'ONBUILD RUN echo triggered > /tmp/t',
  'COPY file.txt .',
  'RUN echo running',
  'ENTRYPOINT ["echo"]',
  'CMD ["a"]',
];

/** What dockerd 20.10 printed building T1 the first time. */
function t1Fresh(): string {
  let out = 'Sending build context to Docker daemon  3.072kB\nStep 1/18 : ARG BASE=busybox\nStep 2/18 : FROM $BASE\n ---> <ID>\n';
  for (let i = 2; i < T1.length; i++) {
    const n = `${i + 1}/18`;
    if (T1[i]!.startsWith('COPY')) out += `Step ${n} : ${T1[i]}\n ---> <ID>\n`;
    else if (T1[i]!.startsWith('RUN')) out += `Step ${n} : ${T1[i]}\n ---> Running in <ID>\nrunning\nRemoving intermediate container <ID>\n ---> <ID>\n`;
    else out += configStep(n, T1[i]!);
  }
  return out + 'Successfully built <ID>\nSuccessfully tagged classic-t1:latest\n';
}

/** … and the second time, every step from the cache. */
function t1Cached(): string {
  let out = 'Sending build context to Docker daemon  3.072kB\nStep 1/18 : ARG BASE=busybox\nStep 2/18 : FROM $BASE\n ---> <ID>\n';
  for (let i = 2; i < T1.length; i++) out += cachedStep(`${i + 1}/18`, T1[i]!);
  return out + 'Successfully built <ID>\nSuccessfully tagged classic-t1:latest\n';
}

describe('the classic builder as dockerd 20.10 runs it', () => {
  let d: TestDaemon;
  let reg: TestRegistry;
  let work: string;
  let n = 0;

  function context(files: Record<string, string>): Promise<string> {
    return writeContext(join(work, `ctx${n++}`), files);
  }

  const docker = (args: string[]): Promise<RunResult> => d.docker(args, { env: LEGACY });

  async function containers(): Promise<ContainerSummary[]> {
    return (await d.request('GET', '/containers/json?all=1')).json<ContainerSummary[]>();
  }

  async function removeContainers(): Promise<void> {
    for (const c of await containers()) assert.equal((await d.request('DELETE', `/containers/${c.Id}?force=1&v=1`)).status, 204);
  }

  async function inspect(ref: string): Promise<{ Id: string; Parent: string; Author: string; Comment: string; Architecture: string; Variant?: string; Config: Record<string, any>; RootFS: { Layers: string[] } }> {
    const r = await d.request('GET', `/images/${encodeURIComponent(ref)}/json`);
    assert.equal(r.status, 200, r.body);
    return r.json();
  }

  async function history(ref: string): Promise<HistoryEntry[]> {
    return (await d.request('GET', `/images/${encodeURIComponent(ref)}/history`)).json<HistoryEntry[]>();
  }

  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    reg = await startReferenceRegistry();
    work = await mkdtemp(join(tmpdir(), 'berth-build-classic-'));
  });
  after(async () => {
    try {
      await d?.stop();
    } finally {
      await reg?.stop();
      if (work) await rm(work, { recursive: true, force: true });
    }
  });

  it('config steps, a cached rebuild and --rm=false print what dockerd prints; history, layers and config as dockerd records them', async () => {
    const dir = await context({ 'file.txt': 'content\n', Dockerfile: T1.join('\n') + '\n' });
    await chmod(join(dir, 'file.txt'), 0o644);
    const first = await docker(['build', '-t', 'classic-t1', dir]);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    assert.equal(transcript(first.stdout), t1Fresh());
    assert.deepEqual(await containers(), [], 'every step container was removed');
    const cached = await docker(['build', '-t', 'classic-t1', dir]);
    assert.equal(transcript(cached.stdout), t1Cached());
    // The berth CLI prints the same, without the docker CLI's deprecation banner.
    const viaBerth = await d.berth(['build', '-t', 'classic-t1', dir]);
    assert.equal(viaBerth.code, 0, viaBerth.stderr);
    assert.equal(transcript(viaBerth.stdout), t1Cached());

    const img = await inspect('classic-t1');
    assert.equal(img.Author, 'someone');
    assert.equal(img.Comment, '', 'the base image\'s import comment is not the child\'s');
    assert.equal(img.RootFS.Layers.length, 4, 'busybox, WORKDIR /app, COPY, and the RUN (which made the /data mount point)');
    const hist = (await history('classic-t1')).map((h) => `${h.CreatedBy}|${h.Size}`);
    assert.deepEqual(hist.slice(0, 16), [
      '/bin/sh -c #(nop)  CMD ["a"]|0',
      '/bin/sh -c #(nop)  ENTRYPOINT ["echo"]|0',
      '|1 V=3 /bin/sh -c echo running|0',
      // The very sum dockerd wrote for this file (tarsum v1 of the CLI's header, then the content).
      '/bin/sh -c #(nop) COPY file:98027b5fa8678c56318538a9365c63c540a60a7068334572fb548b6ec82e4f74 in . |8',
      '/bin/sh -c #(nop)  ONBUILD RUN echo triggered > /tmp/t|0',
      '/bin/sh -c #(nop)  SHELL [/bin/sh -c]|0',
      '/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "true"] "5s" "0s" "0s" \'\\x00\'}|0',
      '/bin/sh -c #(nop)  STOPSIGNAL SIGTERM|0',
      '/bin/sh -c #(nop)  VOLUME [/data]|0',
      '/bin/sh -c #(nop)  EXPOSE 80|0',
      '/bin/sh -c #(nop)  USER 1000|0',
      '/bin/sh -c #(nop) WORKDIR /app|0',
      '/bin/sh -c #(nop)  LABEL x=3|0',
      '/bin/sh -c #(nop)  ARG V=3|0',
      '/bin/sh -c #(nop)  ENV A=1 B=two words|0',
      '/bin/sh -c #(nop)  MAINTAINER someone|0',
    ]);
    const c = img.Config;
    assert.deepEqual([c.User, c.WorkingDir, c.Entrypoint, c.Cmd, c.Labels, c.OnBuild], ['1000', '/app', ['echo'], ['a'], { x: '3' }, ['RUN echo triggered > /tmp/t']]);
    assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9 });
    const ran = await docker(['run', '--rm', 'classic-t1', 'hello']);
    assert.equal(ran.stdout, 'hello\n', ran.stderr);

    // --rm=false: every step's container stays, the config steps' never started, as with dockerd.
    const kept = await docker(['build', '--no-cache', '--rm=false', dir]);
    assert.equal(kept.code, 0, kept.stderr);
    assert.doesNotMatch(kept.stdout, /Removing intermediate container/);
    const left = await containers();
    assert.equal(left.length, 15, 'one per step but FROM and COPY');
    assert.equal(left.filter((x) => x.State === 'created').length, 14);
    assert.deepEqual(left.filter((x) => x.State === 'exited').map((x) => x.Command), ["/bin/sh -c 'echo running'"]);
    assert.ok(left.some((x) => x.Command === "echo /bin/sh -c '#(nop) ' 'CMD [\"a\"]'"), JSON.stringify(left.map((x) => x.Command)));
    const ids = [...kept.stdout.matchAll(/ ---> Running in ([0-9a-f]{12})\n/g)].map((m) => m[1]!);
    assert.deepEqual(ids.sort(), left.map((x) => x.Id.slice(0, 12)).sort(), 'the IDs printed are the containers left');
    await removeContainers();
  });

  it('ONBUILD triggers run in the child under "# Executing 1 build trigger", from the cache the second time', async () => {
    const dir = await context({ Dockerfile: 'FROM classic-t1\nRUN cat /tmp/t\n' });
    const first = await docker(['build', dir]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(transcript(first.stdout), [
      'Sending build context to Docker daemon  2.048kB',
      'Step 1/2 : FROM classic-t1',
      '# Executing 1 build trigger',
      ' ---> Running in <ID>',
      'Removing intermediate container <ID>',
      ' ---> <ID>',
      'Step 2/2 : RUN cat /tmp/t',
      ' ---> Running in <ID>',
      'triggered',
      'Removing intermediate container <ID>',
      ' ---> <ID>',
      'Successfully built <ID>',
      '',
    ].join('\n'));
    const again = await docker(['build', dir]);
    assert.equal(transcript(again.stdout), [
      'Sending build context to Docker daemon  2.048kB',
      'Step 1/2 : FROM classic-t1',
      '# Executing 1 build trigger',
      ' ---> Using cache',
      ' ---> <ID>',
      'Step 2/2 : RUN cat /tmp/t',
      ' ---> Using cache',
      ' ---> <ID>',
      'Successfully built <ID>',
      '',
    ].join('\n'));
    const child = await inspect(again.stdout.match(/Successfully built ([0-9a-f]{12})/)![1]!);
    assert.equal(child.Author, '', 'MAINTAINER is not inherited');
    assert.equal(child.Config.OnBuild ?? null, null, 'triggers run once, in the child');

    // A trigger is kept as written and parsed only where it runs.
    const parent = await context({ Dockerfile: 'FROM busybox\nonbuild   run echo lower\nONBUILD RUNN typo\n' });
    assert.equal((await docker(['build', '-t', 'classic-triggers', parent])).code, 0);
    assert.deepEqual((await inspect('classic-triggers')).Config.OnBuild, ['run echo lower', 'RUNN typo']);
    const broken = await docker(['build', await context({ Dockerfile: 'FROM classic-triggers\n' })]);
    assert.equal(broken.code, 1);
    assert.match(transcript(broken.stdout), /# Executing 2 build triggers\n ---> Running in <ID>\nlower\nRemoving intermediate container <ID>\n$/);
    assert.equal(broken.stderr.trim().split('\n').pop(), 'unknown instruction: RUNN');
  });

  it('a failing RUN: its container is removed (as the issue asks; dockerd keeps it), --rm=false keeps it, --force-rm removes it even then, -q prints the held output on stderr', async () => {
    const dir = await context({ Dockerfile: 'FROM busybox\nENV X=1\nRUN echo oops >&2 && exit 3\nCMD ["x"]\n' });
    const head = [
      'Sending build context to Docker daemon  2.048kB',
      'Step 1/4 : FROM busybox',
      ' ---> <ID>',
      'Step 2/4 : ENV X=1',
    ];
    const failed = await docker(['build', dir]);
    assert.equal(failed.code, 3);
    assert.equal(transcript(failed.stdout), [...head, ' ---> Running in <ID>', 'Removing intermediate container <ID>', ' ---> <ID>', 'Step 3/4 : RUN echo oops >&2 && exit 3', ' ---> Running in <ID>', '\x1b[91moops\n\x1b[0mRemoving intermediate container <ID>', ''].join('\n'));
    assert.match(failed.stderr, /The command '\/bin\/sh -c echo oops >&2 && exit 3' returned a non-zero code: 3\n$/);
    assert.deepEqual(await containers(), [], 'a failed build leaves no intermediate container');

    const kept = await docker(['build', '--rm=false', dir]);
    assert.equal(kept.code, 3);
    const left = await containers();
    assert.equal(left.length, 1, 'with --rm=false the failed step\'s container stays');
    assert.equal(left[0]!.State, 'exited');
    await removeContainers();

    const forced = await docker(['build', '--rm=false', '--force-rm', dir]);
    assert.equal(forced.code, 3);
    assert.equal(transcript(forced.stdout), [...head, ' ---> Using cache', ' ---> <ID>', 'Step 3/4 : RUN echo oops >&2 && exit 3', ' ---> Running in <ID>', '\x1b[91moops\n\x1b[0mRemoving intermediate container <ID>', ''].join('\n'));
    assert.deepEqual(await containers(), []);

    for (const cli of ['docker', 'berth'] as const) {
      const quiet = cli === 'docker' ? await docker(['build', '-q', '--force-rm', dir]) : await d.berth(['build', '-q', '--force-rm', dir]);
      assert.equal(quiet.code, 3, cli);
      assert.equal(quiet.stdout, '', `${cli}: nothing on stdout`);
      assert.match(transcript(quiet.stderr), /Sending build context to Docker daemon {2}2\.048kB\nStep 1\/4 : FROM busybox\n[\s\S]*\n\x1b\[91moops\n\x1b\[0mRemoving intermediate container <ID>\n[\s\S]*returned a non-zero code: 3\n$/, cli);
    }
    assert.deepEqual(await containers(), []);

    // A command that cannot start: removed too; with --rm=false it stays, never started, as dockerd leaves it.
    const nopeDir = await context({ Dockerfile: 'FROM busybox\nRUN ["/nope"]\n' });
    const nope = await docker(['build', nopeDir]);
    assert.equal(nope.code, 1);
    assert.match(nope.stderr, /exec: "\/nope": stat \/nope: no such file or directory/);
    assert.deepEqual(await containers(), []);
    assert.equal((await docker(['build', '--rm=false', nopeDir])).code, 1);
    assert.deepEqual((await containers()).map((c) => c.State), ['created']);
    await removeContainers();
  });

  it('WORKDIR: a new directory is a layer (root-owned under any USER), an existing one an empty_layer entry; onto a file it fails before a container exists', async () => {
    const dir = await context({ Dockerfile: 'FROM busybox\nUSER 1000:1000\nWORKDIR /made/by/workdir\nWORKDIR /tmp\nWORKDIR /made/by/workdir\nUSER root\nWORKDIR rel\nRUN echo hi > f && true\nCMD ["sh", "-c", "pwd; stat -c \'%u:%g %a\' /made /made/by/workdir/rel; cat f"]\n' });
    const r = await docker(['build', '-t', 'classic-wd', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(transcript(r.stdout), /Step 3\/9 : WORKDIR \/made\/by\/workdir\n ---> Running in <ID>\nRemoving intermediate container <ID>\n ---> <ID>\n/);
    const img = await inspect('classic-wd');
    assert.equal(img.RootFS.Layers.length, 4, 'busybox, two WORKDIRs that made directories, the RUN');
    assert.deepEqual((await history('classic-wd')).slice(1, 8).map((h) => h.CreatedBy).reverse(), [
      '/bin/sh -c #(nop)  USER 1000:1000',
      '/bin/sh -c #(nop) WORKDIR /made/by/workdir',
      '/bin/sh -c #(nop) WORKDIR /tmp',
      '/bin/sh -c #(nop) WORKDIR /made/by/workdir',
      '/bin/sh -c #(nop)  USER root',
      '/bin/sh -c #(nop) WORKDIR /made/by/workdir/rel',
      '/bin/sh -c echo hi > f && true',
    ]);
    const out = await docker(['run', '--rm', 'classic-wd']);
    assert.equal(out.stdout, '/made/by/workdir/rel\n0:0 755\n0:0 755\nhi\n', out.stderr);

    const bad = await context({ Dockerfile: 'FROM busybox\nWORKDIR /etc/passwd\n' });
    const failed = await docker(['build', '--rm=false', bad]);
    assert.equal(failed.code, 1);
    assert.equal(transcript(failed.stdout), 'Sending build context to Docker daemon  2.048kB\nStep 1/2 : FROM busybox\n ---> <ID>\nStep 2/2 : WORKDIR /etc/passwd\n');
    assert.equal(failed.stderr.trim().split('\n').pop(), 'Cannot mkdir: /etc/passwd is not a directory');
    assert.deepEqual(await containers(), [], 'not even with --rm=false');
  });

  it('a RUN that changes nothing adds no layer; ARGs before FROM are steps; unused build args are named; raw API: an aux ID per stage', async () => {
    const dir = await context({ Dockerfile: 'ARG UNUSED_TOO\nFROM busybox AS base\nRUN true\nFROM busybox AS other\nRUN echo other > /other\nFROM base\nCOPY --from=other /other /o\nCMD cat /o\n' });
    const r = await docker(['build', '--build-arg', 'NOPE=1', '-t', 'classic-ms', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(transcript(r.stdout), /^Sending build context to Docker daemon {2}2\.048kB\nStep 1\/8 : ARG UNUSED_TOO\nStep 2\/8 : FROM busybox AS base\n/);
    assert.match(r.stdout, /\[Warning\] One or more build-args \[NOPE\] were not consumed\nSuccessfully built/);
    const img = await inspect('classic-ms');
    assert.equal(img.RootFS.Layers.length, 2, 'busybox and the COPY: RUN true changed nothing');
    assert.equal((await docker(['run', '--rm', 'classic-ms'])).stdout, 'other\n');

    const { makeTar } = await import('../../src/archive/testing/make-tar.js');
    const tar = await makeTar([{ name: 'Dockerfile', content: 'FROM busybox AS a\nRUN echo a > /a\nFROM busybox\nCOPY --from=a /a /a\n' }]);
    const raw = await d.request('POST', '/build?nocache=1', tar, { 'Content-Type': 'application/x-tar' });
    const msgs = raw.body.trim().split('\n').map((l) => JSON.parse(l) as { stream?: string; aux?: { ID: string } });
    assert.deepEqual(msgs.slice(0, 3), [{ stream: 'Step 1/4 : FROM busybox AS a' }, { stream: '\n' }, { stream: msgs[2]!.stream! }], 'the step line and its newline are two messages, as dockerd sends them');
    const aux = msgs.map((m, i) => (m.aux ? i : -1)).filter((i) => i >= 0);
    assert.equal(aux.length, 2, 'one aux ID per stage');
    assert.match(msgs[aux[0]! - 1]!.stream!, /^ ---> [0-9a-f]{12}\n$/);
    assert.equal(msgs[aux[1]!]!.aux!.ID.slice(7, 19), msgs[aux[1]! + 1]!.stream!.match(/Successfully built ([0-9a-f]{12})/)![1]);
  });

  it('FROM --platform and --platform pull that platform from a multi-arch index; a local image is used whatever its platform; BUILDPLATFORM & co. stay undefined, as in the classic builder', async () => {
    const host = hostPlatform();
    const other = host.architecture === 'arm64' ? 'amd64' : 'arm64';
    const hostName = `linux/${host.architecture}${host.variant ? `/${host.variant}` : ''}`;
    const { images } = await pushMultiArch(reg.host, 'classic/multi', 'latest', [hostName, `linux/${other}`, 'linux/arm/v7']);
    const name = `${reg.host}/classic/multi:latest`;
    const otherImage = images.find((i) => i.architecture === other)!;

    const from = await context({ Dockerfile: `FROM --platform=linux/${other} ${name}\nLABEL picked=yes\n` });
    const r = await docker(['build', '-t', 'classic-plat', from]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = transcript(r.stdout);
    assert.match(out, /^Step 1\/2 : FROM --platform=linux\/\S+ \S+\nlatest: Pulling from classic\/multi\n/m, 'the pull\'s progress is in the build output');
    assert.match(out, new RegExp(`Status: Downloaded newer image for ${name.replace(/[.]/g, '\\.')}\n ---> <ID>\n`));
    assert.match(out, new RegExp(`Step 2/2 : LABEL picked=yes\n ---> \\[Warning\\] The requested image's platform \\(linux/${other}\\) does not match the detected host platform \\(${hostName.replace(/\//g, '\\/')}\\) and no specific platform was requested\n ---> Running in <ID>\n`));
    assert.equal((await inspect(name)).Id, otherImage.configDigest);
    assert.equal((await inspect('classic-plat')).Architecture, other, 'the result has its base\'s platform');

    // Now the tag is here (for the other platform): dockerd 20.10 uses it as it is, whatever FROM --platform says.
    const local = await context({ Dockerfile: `FROM --platform=${hostName} ${name}\nLABEL again=yes\n` });
    const r2 = await docker(['build', '-t', 'classic-plat2', local]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.doesNotMatch(r2.stdout, /Pulling from/);
    assert.equal((await inspect('classic-plat2')).Architecture, other);

    // --platform on the build: what FROM (and COPY --from) pull when the image is not here.
    await docker(['rmi', name]);
    const flag = await context({ Dockerfile: `FROM ${name}\nCOPY --from=${name} /etc/arch /copied\nLABEL via=flag\n` });
    const r3 = await docker(['build', '--platform', 'linux/arm/v7', '-t', 'classic-plat3', flag]);
    assert.equal(r3.code, 0, r3.stderr + r3.stdout);
    const p3 = await inspect('classic-plat3');
    assert.deepEqual([p3.Architecture, p3.Variant], ['arm', 'v7']);
    const reader = await context({ Dockerfile: 'FROM busybox\nCOPY --from=classic-plat3 /copied /copied\nCMD ["cat", "/copied"]\n' });
    assert.equal((await docker(['build', '-t', 'classic-plat3-reader', reader])).code, 0);
    assert.equal((await docker(['run', '--rm', 'classic-plat3-reader'])).stdout, 'linux/arm/v7\n', 'COPY --from pulled the same platform');

    // FROM scratch takes the platform asked for.
    const scratch = await context({ 'f': 'x\n', Dockerfile: 'FROM scratch\nCOPY f /f\n' });
    assert.equal((await docker(['build', '--platform', `linux/${other}`, '-t', 'classic-scratch', scratch])).code, 0);
    assert.equal((await inspect('classic-scratch')).Architecture, other);

    // The classic builder defines no platform args: they expand to nothing, and an empty --platform is refused.
    const args = await context({ Dockerfile: 'FROM busybox\nARG TARGETPLATFORM\nARG BUILDPLATFORM\nARG TARGETARCH\nRUN echo "tp=$TARGETPLATFORM bp=$BUILDPLATFORM ta=$TARGETARCH"\n' });
    const r4 = await docker(['build', '--platform', hostName, args]);
    assert.match(r4.stdout, /^tp= bp= ta=$/m);
    const empty = await context({ Dockerfile: 'FROM --platform=$BUILDPLATFORM busybox\n' });
    const r5 = await docker(['build', empty]);
    assert.equal(r5.code, 1);
    assert.match(r5.stderr, /failed to parse platform : "" is an invalid component of "": platform specifier component must match "\^\[A-Za-z0-9_-\]\+\$": invalid argument/);
  });

  it('--cache-from: an image pushed, removed and pulled again (no parent chain) gives every step from the cache', async () => {
    const files = { 'app.txt': 'app\n', Dockerfile: 'FROM busybox\nENV A=1\nWORKDIR /app\nCOPY app.txt .\nRUN cat app.txt > /built\nLABEL l=1\nCMD ["cat", "/built"]\n' };
    const dir = await context(files);
    const name = `${reg.host}/classic/cached:1`;
    assert.equal((await docker(['build', '-t', name, dir])).code, 0);
    assert.equal((await docker(['push', name])).code, 0);
    const pushedId = (await inspect(name)).Id;
    assert.equal((await docker(['rmi', name])).code, 0);
    assert.equal((await d.berth(['builder', 'prune', '-af'])).code, 0);
    assert.equal((await docker(['image', 'prune', '-f'])).code, 0);
    assert.equal((await d.request('GET', `/images/${encodeURIComponent(name)}/json`)).status, 404);
    assert.equal((await docker(['pull', name])).code, 0);

    // Without --cache-from a pulled image is no cache (its steps have no parent chain here).
    const plain = await docker(['build', await context(files)]);
    assert.doesNotMatch(plain.stdout, /Using cache/);
    assert.equal((await d.berth(['builder', 'prune', '-af'])).code, 0);
    assert.equal((await docker(['image', 'prune', '-f'])).code, 0);

    for (const cli of ['docker', 'berth'] as const) {
      const args = ['build', '--cache-from', name, '-t', `classic-cached-${cli}`, dir];
      const r = cli === 'docker' ? await docker(args) : await d.berth(args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.match(/ ---> Using cache\n/g)?.length, 6, r.stdout);
      assert.doesNotMatch(r.stdout, /Running in/);
      assert.equal((await inspect(`classic-cached-${cli}`)).Id, pushedId, 'the last step is the pulled image itself, as dockerd gives it');
    }
    assert.equal((await docker(['run', '--rm', 'classic-cached-docker'])).stdout, 'app\n');

    // A changed source misses from its step on.
    await writeFile(join(dir, 'app.txt'), 'changed\n');
    const changed = await docker(['build', '--cache-from', name, '-t', 'classic-cached-2', dir]);
    assert.equal(changed.stdout.match(/ ---> Using cache\n/g)?.length, 2, changed.stdout);
    assert.equal((await docker(['run', '--rm', 'classic-cached-2'])).stdout, 'changed\n');

    // As in dockerd, with --cache-from a local cache hit counts only inside those images' chains.
    const unrelated = await docker(['build', '--cache-from', 'busybox', dir]);
    assert.doesNotMatch(unrelated.stdout, /Using cache/);
  });

  it('--label, EXPOSE and HEALTHCHECK as dockerd 20.10 records them; COPY --from an image that cannot be had', async () => {
    const dir = await context({ Dockerfile: 'FROM busybox\nEXPOSE 80/tcp 53/udp 8000-8001\nHEALTHCHECK --interval=30s --retries=4 CMD a\nHEALTHCHECK --timeout=3s CMD b\n' });
    const r = await docker(['build', '--label', 'z=last', '--label', 'a.b=it\'s "q"', '--label', 'm=$HOME', '-t', 'classic-meta', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(transcript(r.stdout), [
      'Sending build context to Docker daemon  2.048kB',
      'Step 1/7 : FROM busybox',
      ' ---> <ID>',
      configStep('2/7', 'EXPOSE 80/tcp 53/udp 8000-8001') + configStep('3/7', 'HEALTHCHECK --interval=30s --retries=4 CMD a') +
        'Step 4/7 : HEALTHCHECK --timeout=3s CMD b\nNote: overriding previous HEALTHCHECK: [CMD-SHELL a]\n ---> Running in <ID>\nRemoving intermediate container <ID>\n ---> <ID>\n' +
        configStep('5/7', 'LABEL a.b=it\'s "q"') + configStep('6/7', 'LABEL m=$HOME') + configStep('7/7', 'LABEL z=last') +
        'Successfully built <ID>',
      'Successfully tagged classic-meta:latest',
      '',
    ].join('\n'));
    const img = await inspect('classic-meta');
    assert.deepEqual(img.Config.Labels, { 'a.b': 'it\'s "q"', m: '$HOME', z: 'last' }, '--label values are taken as they are');
    // dockerd's container create fills what the second HEALTHCHECK leaves unset from the first, into the image.
    assert.deepEqual(img.Config.Healthcheck, { Test: ['CMD-SHELL', 'b'], Interval: 30e9, Timeout: 3e9, Retries: 4 });
    const hist = (await history('classic-meta')).map((h) => h.CreatedBy);
    assert.ok(hist.includes('/bin/sh -c #(nop)  EXPOSE 53/udp 80/tcp 8000-8001'), 'the ports sorted as dockerd sorts them');
    assert.ok(hist.includes('/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "b"] "0s" "3s" "0s" \'\\x00\'}'), JSON.stringify(hist));

    const missing = await context({ Dockerfile: `FROM busybox\nCOPY --from=${reg.host}/classic/missing:1 /x /x\n` });
    const m = await docker(['build', missing]);
    assert.equal(m.code, 1);
    assert.equal(m.stderr.trim().split('\n').pop(), `invalid from flag value ${reg.host}/classic/missing:1: manifest for ${reg.host}/classic/missing:1 not found: manifest unknown: manifest unknown`);
  });

  it('FROM an image of a registry that wants a login: the client\'s credentials (X-Registry-Config) go with the pull', async () => {
    const priv = await startReferenceRegistry({ users: { alice: 's3cret' } });
    try {
      const name = `${priv.host}/priv/base:1`;
      const dir = await context({ Dockerfile: `FROM ${name}\nRUN echo from-private > /p\nCMD ["cat", "/p"]\n` });
      assert.equal((await docker(['tag', 'busybox', name])).code, 0);
      const login = await d.docker(['login', '-u', 'alice', '--password-stdin', priv.host], { input: 's3cret\n' });
      assert.equal(login.code, 0, login.stderr);
      assert.equal((await docker(['push', name])).code, 0);
      assert.equal((await docker(['rmi', name])).code, 0);
      const r = await docker(['build', '-t', 'classic-private', dir]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /Status: Downloaded newer image for /);
      assert.equal((await docker(['run', '--rm', 'classic-private'])).stdout, 'from-private\n');
      // berth build sends them too (it reads the same config.json).
      assert.equal((await docker(['rmi', name])).code, 0);
      const viaBerth = await d.berth(['build', '--no-cache', dir], { env: { DOCKER_CONFIG: join(d.dir, 'docker-config') } });
      assert.equal(viaBerth.code, 0, viaBerth.stderr);
      // Without credentials the pull is refused.
      assert.equal((await docker(['rmi', name])).code, 0);
      assert.equal((await d.docker(['logout', priv.host])).code, 0);
      const denied = await docker(['build', '--no-cache', dir]);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /no basic auth credentials|unauthorized|authentication required/i);
    } finally {
      await priv.stop();
    }
  });

  it('a broken Dockerfile is refused in dockerd 20.10\'s words', async () => {
    const cases: Array<[string, string]> = [
      ['FROM busybox\nRUNN x\n', 'dockerfile parse error line 2: unknown instruction: RUNN'],
      ['FROM busybox\nENV A\n', 'failed to parse Dockerfile: ENV must have two arguments'],
      ['FROM busybox\nCMD ["a", 1]\n', 'failed to parse Dockerfile: when using JSON array syntax, arrays must be comprised of strings only'],
      ['FROM busybox\nCOPY --foo=1 a b\n', 'dockerfile parse error line 2: Unknown flag: foo'],
      ['FROM busybox\nHEALTHCHECK --retries=0 CMD x\n', 'dockerfile parse error line 2: --retries must be at least 1 (not 0)'],
      ['ENV A=b\nFROM busybox\n', 'no build stage in current context'],
    ];
    for (const [text, message] of cases) {
      const r = await docker(['build', await context({ Dockerfile: text })]);
      assert.equal(r.code, 1, text);
      assert.equal(r.stderr.trim().split('\n').pop(), `Error response from daemon: ${message}`, text);
    }
  });
});
