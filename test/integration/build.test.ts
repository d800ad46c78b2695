import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { makeTar } from '../../src/archive/testing/make-tar.js';
import { spawn } from 'node:child_process';
import { writeContext } from '../helpers/build-context.js';
import { TestDaemon, DOCKER, eventually, type RunResult } from '../helpers/daemon.js';

// Dockerfiles built through the real docker CLI (classic builder,
// DOCKER_BUILDKIT=0), the berth CLI and raw POST /build against a test
// berthd; results checked by running the images and by inspect.

const LEGACY = { DOCKER_BUILDKIT: '0' };

interface ImageInspect {
  Id: string;
  Config: Record<string, any>;
  Author?: string;
}

describe('docker build against berthd (classic builder)', () => {
  let d: TestDaemon;
  let work: string;
  let n = 0;

  /** A fresh context directory with the given files (name → content; a leading "->" makes a symlink). */
  function context(files: Record<string, string>): Promise<string> {
    return writeContext(join(work, `ctx${n++}`), files);
  }

  function docker(args: string[], opts: { input?: string } = {}): Promise<RunResult> {
    return d.docker(args, { ...opts, env: LEGACY });
  }

  async function inspect(ref: string): Promise<ImageInspect> {
    const r = await d.request('GET', `/images/${encodeURIComponent(ref)}/json`);
    assert.equal(r.status, 200, r.body);
    return r.json<ImageInspect>();
  }

  async function run(image: string, ...cmd: string[]): Promise<RunResult> {
    return docker(['run', '--rm', image, ...cmd]);
  }

  async function containers(): Promise<number> {
    return d.request('GET', '/containers/json?all=1').then((r) => r.json<unknown[]>().length);
  }

  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    work = await mkdtemp(join(tmpdir(), 'berth-build-test-'));
  });
  after(async () => {
    try {
      await d?.stop();
    } finally {
      if (work) await rm(work, { recursive: true, force: true });
    }
  });

  it('builds every config instruction into the image config and history as Docker does', async () => {
    const dir = await context({
      Dockerfile: [
        'FROM busybox',
        'MAINTAINER someone <s@example.test>',
        'ENV APP=/srv/app GREETING="hello world"',
        'ARG VERSION=1.0',
        'LABEL org.example.version=$VERSION "quoted key"=v',
        'WORKDIR $APP',
        'WORKDIR sub',
        'USER 1000:1000',
        'EXPOSE 8080 53/udp 9000-9001',
        'VOLUME ["/data"]',
        'STOPSIGNAL SIGUSR1',
        'HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD ["true"]',
        'SHELL ["/bin/sh", "-c"]',
        'ONBUILD RUN echo triggered',
        'ENTRYPOINT ["/bin/echo"]',
        'CMD ["default", "args"]',
      ].join('\n') + '\n',
    });
    const r = await docker(['build', '--label', "built.by=it's a test", '-t', 'every:1', dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^Step 1\/17 : FROM busybox$/m);
    assert.match(r.stdout, /^Step 16\/17 : CMD \["default", "args"\]$/m);
    assert.match(r.stdout, /^Step 17\/17 : LABEL built.by=it's a test$/m, '--label is one more LABEL step, as in the classic builder');
    assert.match(r.stdout, /^Successfully built [0-9a-f]{12}$/m);
    assert.match(r.stdout, /^Successfully tagged every:1$/m);
    const img = await inspect('every:1');
    const c = img.Config;
    assert.deepEqual(c.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP=/srv/app', 'GREETING=hello world']);
    assert.deepEqual(c.Labels, { 'org.example.version': '1.0', 'quoted key': 'v', 'built.by': "it's a test" });
    assert.equal(c.WorkingDir, '/srv/app/sub');
    assert.equal(c.User, '1000:1000');
    assert.deepEqual(Object.keys(c.ExposedPorts).sort(), ['53/udp', '8080/tcp', '9000/tcp', '9001/tcp']);
    assert.deepEqual(c.Volumes, { '/data': {} });
    assert.equal(c.StopSignal, 'SIGUSR1');
    assert.deepEqual(c.Healthcheck, { Test: ['CMD', 'true'], Interval: 5e9, Timeout: 3e9, Retries: 2 });
    assert.deepEqual(c.Shell, ['/bin/sh', '-c']);
    assert.deepEqual(c.OnBuild, ['RUN echo triggered']);
    assert.deepEqual(c.Entrypoint, ['/bin/echo']);
    assert.deepEqual(c.Cmd, ['default', 'args']);
    assert.equal(img.Author, 'someone <s@example.test>');
    const out = await run('every:1');
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, 'default args\n');

    const hist = await d.request('GET', '/images/every:1/history');
    const entries = hist.json<Array<{ CreatedBy: string; Size: number }>>();
    assert.equal(entries[1]!.CreatedBy, '/bin/sh -c #(nop)  CMD ["default" "args"]');
    assert.ok(entries.some((e) => e.CreatedBy === '/bin/sh -c #(nop)  ENV APP=/srv/app GREETING=hello world'));
    assert.ok(entries.some((e) => e.CreatedBy === '/bin/sh -c #(nop)  ARG VERSION=1.0'));
    assert.ok(entries.every((e, i) => i === entries.length - 1 || e.Size === 0), 'metadata steps add no layers');
  });

  it('RUN, COPY and ADD make layers; the image runs with their files; heredocs work', async () => {
    const { gzipSync } = await import('node:zlib');
    const tar = await makeTar([{ name: 'unpacked/inner.txt', content: 'from the archive\n' }]);
    const dir = await context({
      'a.txt': 'file a\n',
      'dir/b.txt': 'file b\n',
      'dir/nested/c.txt': 'file c\n',
      'one.md': 'one\n',
      'two.md': 'two\n',
      Dockerfile: [
        'FROM busybox',
        'WORKDIR /app',
        'COPY a.txt .',
        'COPY dir /app/dir/',
        'COPY *.md /docs/',
        'COPY --chown=123:456 --chmod=640 a.txt /owned',
        'ADD archive.tar.gz /extract/',
        'RUN <<EOF',
        'echo from heredoc > /app/heredoc.txt',
        'EOF',
        'ENV WHO=world',
        'COPY <<EOT /app/inline.txt',
        'inline $WHO',
        'EOT',
        'RUN echo run > run.txt && rm /bin/true',
        'CMD ["sh", "-c", "cat /app/a.txt /app/dir/b.txt /app/dir/nested/c.txt /docs/one.md /docs/two.md /extract/unpacked/inner.txt /app/heredoc.txt /app/inline.txt /app/run.txt; stat -c \'%u:%g %a\' /owned; ls /bin/true 2>&1 || echo gone"]',
      ].join('\n') + '\n',
    });
    await writeFile(join(dir, 'archive.tar.gz'), gzipSync(tar));
    const r = await docker(['build', '-t', 'files:1', dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, / ---> Running in [0-9a-f]{12}\n/);
    assert.match(r.stdout, /^Removing intermediate container [0-9a-f]{12}\n/m);
    const out = await run('files:1');
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, 'file a\nfile b\nfile c\none\ntwo\nfrom the archive\nfrom heredoc\ninline world\nrun\n123:456 640\nls: /bin/true: No such file or directory\ngone\n');
    assert.equal(await containers(), 0, 'no intermediate containers are left');
  });

  it('rebuilds from cache, and misses exactly where a source, a build arg or an instruction changed; the cache survives a restart', async () => {
    const dir = await context({
      'src.txt': 'v1\n',
      'other.txt': 'same\n',
      Dockerfile: 'FROM busybox\nARG FLAVOR=plain\nCOPY other.txt /other\nRUN echo $FLAVOR > /flavor\nCOPY src.txt /src\nRUN cat /src > /copy\n',
    });
    const first = await docker(['build', '-t', 'cached:1', dir]);
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stdout, /Using cache/);
    const id1 = (await inspect('cached:1')).Id;

    const again = await docker(['build', '-t', 'cached:1', dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.match(/ ---> Using cache/g)?.length, 5, again.stdout);
    assert.equal((await inspect('cached:1')).Id, id1, 'a fully cached build gives the same image');

    // Touching a file without changing it keeps the cache (mtime does not count).
    await writeFile(join(dir, 'src.txt'), 'v1\n');
    await writeFile(join(dir, 'src.txt'), 'v2\n');
    const changed = await docker(['build', '-t', 'cached:2', dir]);
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(changed.stdout.match(/ ---> Using cache/g)?.length, 3, 'steps before the changed COPY are cached');
    assert.equal((await run('cached:2', 'cat', '/copy')).stdout, 'v2\n');

    const arg = await docker(['build', '--build-arg', 'FLAVOR=spicy', '-t', 'cached:3', dir]);
    assert.equal(arg.code, 0, arg.stderr);
    assert.equal(arg.stdout.match(/ ---> Using cache/g)?.length, 2, 'the RUN that uses the arg misses');
    assert.equal((await run('cached:3', 'cat', '/flavor')).stdout, 'spicy\n');
    const hist = (await d.request('GET', '/images/cached:3/history')).json<Array<{ CreatedBy: string }>>();
    assert.ok(hist.some((h) => h.CreatedBy === '|1 FLAVOR=spicy /bin/sh -c echo $FLAVOR > /flavor'), JSON.stringify(hist));

    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nARG FLAVOR=plain\nCOPY other.txt /other\nRUN echo $FLAVOR >> /flavor\nCOPY src.txt /src\nRUN cat /src > /copy\n');
    const instr = await docker(['build', '-t', 'cached:4', dir]);
    assert.equal(instr.stdout.match(/ ---> Using cache/g)?.length, 2, 'a changed instruction misses from there on');

    const noCache = await docker(['build', '--no-cache', '-t', 'cached:5', dir]);
    assert.equal(noCache.code, 0, noCache.stderr);
    assert.doesNotMatch(noCache.stdout, /Using cache/);

    await d.terminate();
    await d.launch();
    const afterRestart = await docker(['build', '-t', 'cached:4', dir]);
    assert.equal(afterRestart.code, 0, afterRestart.stderr);
    assert.equal(afterRestart.stdout.match(/ ---> Using cache/g)?.length, 5, 'the cache survives a restart of berthd');
  });

  it('multi-stage: only the stages the target needs, COPY --from a stage and an image, --target', async () => {
    const dir = await context({
      Dockerfile: [
        'ARG BASE=busybox',
        'FROM $BASE AS build',
        'RUN mkdir /out && echo artifact > /out/a',
        'FROM busybox AS unused',
        'RUN echo unused-stage-ran > /u',
        'FROM ${BASE} AS other',
        'RUN echo other > /o',
        'FROM busybox',
        'COPY --from=build /out/a /a',
        'COPY --from=2 /o /o',
        'COPY --from=busybox /bin/busybox /copied-busybox',
        'CMD ["sh", "-c", "cat /a /o && test -x /copied-busybox && echo ok"]',
      ].join('\n') + '\n',
    });
    const r = await docker(['build', '-t', 'multi:1', dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.doesNotMatch(r.stdout, /unused-stage-ran|FROM busybox AS unused/, 'a stage the target does not need is not built');
    assert.match(r.stdout, /^Step 1\/10 : ARG BASE=busybox\nStep 2\/10 : FROM \$BASE AS build$/m, 'the ARG before FROM is a step of its own');
    const out = await run('multi:1');
    assert.equal(out.stdout, 'artifact\nother\nok\n');

    const t = await docker(['build', '--target', 'other', '-t', 'multi:other', dir]);
    assert.equal(t.code, 0, t.stderr);
    assert.equal((await run('multi:other', 'cat', '/o')).stdout, 'other\n');
    const bad = await docker(['build', '--target', 'nope', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /failed to reach build target nope in Dockerfile/);
  });

  it('FROM scratch: an image made only of what the Dockerfile copies in', async () => {
    const dir = await context({ Dockerfile: 'FROM scratch\nCOPY --from=busybox /bin/busybox /busybox\nENTRYPOINT ["/busybox"]\nCMD ["echo", "from scratch"]\n' });
    const r = await docker(['build', '-t', 'scratchy:1', dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^Step 1\/4 : FROM scratch\n ---> \n/m, 'an empty ID for scratch, as the classic builder prints it');
    assert.equal((await run('scratchy:1')).stdout, 'from scratch\n');
    const layers = (await d.request('GET', '/images/scratchy:1/history')).json<Array<{ Size: number }>>().filter((h) => h.Size > 0);
    assert.equal(layers.length, 1, 'one layer: the copied binary');
  });

  it('.dockerignore leaves files out, with exceptions; the Dockerfile and .dockerignore still reach the daemon', async () => {
    const dir = await context({
      '.dockerignore': '*.secret\nlogs\n!logs/keep.log\n**/*.tmp\nDockerfile\n',
      'app.txt': 'app\n',
      'key.secret': 'secret\n',
      'logs/a.log': 'a\n',
      'logs/keep.log': 'keep\n',
      'deep/x/y.tmp': 'tmp\n',
      'deep/x/z.txt': 'z\n',
      Dockerfile: 'FROM busybox\nCOPY . /ctx/\nCMD ["sh", "-c", "cd /ctx && find . -type f | sort"]\n',
    });
    const r = await docker(['build', '-t', 'ignored:1', dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal((await run('ignored:1')).stdout, './.dockerignore\n./app.txt\n./deep/x/z.txt\n./logs/keep.log\n');
  });

  it('a Dockerfile syntax error fails with the line and leaves nothing behind', async () => {
    const before = (await d.request('GET', '/images/json?all=1')).json<unknown[]>().length;
    const dir = await context({ Dockerfile: 'FROM busybox\nRUN echo ok\n\n# comment\nENV A=b\n\nRUNN echo typo\n' });
    const r = await docker(['build', '-t', 'broken:1', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error response from daemon: dockerfile parse error line 7: unknown instruction: RUNN/);
    assert.equal((await d.request('GET', '/images/json?all=1')).json<unknown[]>().length, before, 'no image was made');
    assert.equal(await containers(), 0);
    const bad = await context({ Dockerfile: 'FROM busybox\nCOPY onlyone\n' });
    const r2 = await docker(['build', bad]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /dockerfile parse error line 2: COPY requires at least two arguments/);
  });

  it('a failing RUN reports the command and its exit code, and leaves no intermediate container unless --rm=false', async () => {
    const dir = await context({ Dockerfile: 'FROM busybox\nRUN echo about to fail && exit 3\nRUN echo never\n' });
    const r = await docker(['build', '-t', 'fails:1', dir]);
    assert.equal(r.code, 3, 'docker exits with the code the step returned');
    assert.match(r.stdout, /about to fail\nRemoving intermediate container [0-9a-f]{12}\n$/);
    assert.doesNotMatch(r.stdout, /never/);
    assert.match(r.stderr, /The command '\/bin\/sh -c echo about to fail && exit 3' returned a non-zero code: 3/);
    assert.equal((await d.request('GET', '/images/fails:1/json')).status, 404);
    assert.equal(await containers(), 0, 'no intermediate container is left');
    const kept = await docker(['build', '--rm=false', dir]);
    assert.equal(kept.code, 3);
    const left = (await d.request('GET', '/containers/json?all=1')).json<Array<{ Id: string; State: string }>>();
    assert.equal(left.length, 1, '--rm=false keeps the failed step\'s container for inspection');
    assert.equal(left[0]!.State, 'exited');
    assert.match(kept.stdout, new RegExp(` ---> Running in ${left[0]!.Id.slice(0, 12)}\n`));
    assert.equal((await d.request('DELETE', `/containers/${left[0]!.Id}?force=1`)).status, 204);
  });

  it('COPY never follows a symlink out of the context; links inside a copied directory stay links', async () => {
    const outside = join(work, 'outside-secret');
    await writeFile(outside, 'host secret\n');
    const dir = await context({
      'escape-link': `->${outside}`,
      'dir/inner-link': '->/etc/shadow',
      'dir/file': 'f\n',
      Dockerfile: 'FROM busybox\nCOPY escape-link /x\n',
    });
    const r = await docker(['build', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /COPY failed: file not found in build context or excluded by \.dockerignore: stat escape-link: file does not exist/);
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY dir /d/\nCMD ["readlink", "/d/inner-link"]\n');
    const ok = await docker(['build', '-t', 'links:1', dir]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await run('links:1')).stdout, '/etc/shadow\n');
  });

  it('a context tar with ../ entries is refused and writes nothing outside', async () => {
    const marker = `escaped-${process.pid}-${Date.now()}`;
    const tar = await makeTar([
      { name: 'Dockerfile', content: 'FROM busybox\n' },
      { name: `../../../../../../tmp/${marker}`, content: 'x' },
    ]);
    const r = await d.request('POST', '/build?t=escape', tar, { 'Content-Type': 'application/x-tar' });
    assert.equal(r.status, 400, r.body);
    assert.match(r.json<{ message: string }>().message, /path escapes/);
    assert.equal(existsSync(join('/tmp', marker)), false);
  });

  it('-f inside or outside the context, and a Dockerfile on stdin', async () => {
    const dir = await context({ 'data.txt': 'data\n', 'sub/Custom.df': 'FROM busybox\nCOPY data.txt /d\nCMD ["cat", "/d"]\n' });
    const inside = await docker(['build', '-f', join(dir, 'sub/Custom.df'), '-t', 'df:inside', dir]);
    assert.equal(inside.code, 0, inside.stderr);
    assert.equal((await run('df:inside')).stdout, 'data\n');
    const outsideFile = join(work, 'Outside.Dockerfile');
    await writeFile(outsideFile, 'FROM busybox\nCOPY data.txt /o\nCMD ["cat", "/o"]\n');
    const outside = await docker(['build', '-f', outsideFile, '-t', 'df:outside', dir]);
    assert.equal(outside.code, 0, outside.stderr);
    assert.equal((await run('df:outside')).stdout, 'data\n');
    const stdin = await docker(['build', '-f', '-', '-t', 'df:stdin', dir], { input: 'FROM busybox\nCOPY data.txt /s\nCMD ["cat", "/s"]\n' });
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.equal((await run('df:stdin')).stdout, 'data\n');
    const noContext = await docker(['build', '-t', 'df:nocontext', '-'], { input: 'FROM busybox\nRUN echo built-from-stdin > /m\nCMD ["cat", "/m"]\n' });
    assert.equal(noContext.code, 0, noContext.stderr);
    assert.equal((await run('df:nocontext')).stdout, 'built-from-stdin\n');
  });

  it('ADD fetches a URL (loopback), build args reach RUN, proxy args stay out of history', async () => {
    let server: Server | undefined;
    try {
      server = createServer((req, res) => {
        res.writeHead(200, { 'Last-Modified': 'Tue, 01 Oct 2024 10:00:00 GMT', 'Content-Type': 'text/plain' });
        res.end(`served ${req.url}\n`);
      });
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      const dir = await context({
        Dockerfile: [
          'FROM busybox',
          `ADD http://127.0.0.1:${port}/file.txt /downloaded/`,
          'ARG GREETING',
          'RUN echo "$GREETING $HTTP_PROXY" > /args',
          'CMD ["sh", "-c", "cat /downloaded/file.txt /args; stat -c %a /downloaded/file.txt"]',
        ].join('\n') + '\n',
      });
      const r = await docker(['build', '--build-arg', 'GREETING=hi', '--build-arg', 'HTTP_PROXY=http://127.0.0.1:9', '--build-arg', 'UNUSED=1', '-t', 'urls:1', dir]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /\[Warning\] One or more build-args \[UNUSED\] were not consumed/);
      assert.equal((await run('urls:1')).stdout, 'served /file.txt\nhi http://127.0.0.1:9\n600\n');
      const hist = JSON.stringify((await d.request('GET', '/images/urls:1/history')).json());
      assert.doesNotMatch(hist, /127\.0\.0\.1:9/, 'proxy values are not recorded');
    } finally {
      server?.close();
    }
  });

  it('RUN --mount: a cache directory kept between builds and out of the image, context binds, tmpfs', async () => {
    const dir = await context({
      'data.txt': 'bound from the context\n',
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=cache,target=/cache echo hit >> /cache/count && wc -l < /cache/count > /seen',
        'RUN --mount=type=bind,source=data.txt,target=/mnt/data.txt cat /mnt/data.txt > /from-bind',
        'RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /tmpfs-seen',
        'CMD ["sh", "-c", "cat /seen /from-bind /tmpfs-seen; ls -A /cache /scratch 2>&1 | wc -l"]',
      ].join('\n') + '\n',
    });
    assert.equal((await docker(['build', '-t', 'mounts:1', dir])).code, 0);
    const second = await docker(['build', '--no-cache', '-t', 'mounts:2', dir]);
    assert.equal(second.code, 0, second.stderr + second.stdout);
    assert.equal((await run('mounts:1')).stdout.split('\n')[0], '1');
    const out = await run('mounts:2');
    assert.equal(out.stdout, '2\nbound from the context\nx\n2\n', 'the cache kept the first build\'s line; the mounts left nothing in the image');
    const bad = await context({ Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=x cat /run/secrets/x\n' });
    const r = await docker(['build', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /RUN --mount=type=secret is not supported/);
  });

  it('larger context files (held in memory while every step is cached) reach COPY, ADD, RUN binds and a large Dockerfile intact', async () => {
    const { createHash, randomBytes } = await import('node:crypto');
    const big = randomBytes(3 * 1024 * 1024);
    const sum = createHash('sha256').update(big).digest('hex');
    const archive = await makeTar([{ name: 'inner.bin', content: big }]);
    const dir = await context({
      Dockerfile: [
        'FROM busybox',
        'COPY big.bin /copied.bin',
        'ADD big.tar /added/',
        'RUN --mount=type=bind,source=big.bin,target=/mnt/big.bin sha256sum /mnt/big.bin | cut -d" " -f1 > /bound.sum',
        'CMD ["sh", "-c", "sha256sum /copied.bin /added/inner.bin | cut -d\' \' -f1; cat /bound.sum"]',
      ].join('\n') + '\n',
      // A Dockerfile past the size the builder holds back, padded with comments.
      'big.Dockerfile': ['FROM busybox', ...Array.from({ length: 2000 }, (_, i) => `# padding line ${i} ${'x'.repeat(60)}`), 'LABEL big=dockerfile'].join('\n') + '\n',
    });
    await writeFile(join(dir, 'big.bin'), big);
    await writeFile(join(dir, 'big.tar'), archive);
    const first = await docker(['build', '-t', 'bigctx:1', dir]);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    assert.equal((await run('bigctx:1')).stdout, `${sum}\n${sum}\n${sum}\n`);
    // All cached, then one changed byte: the miss must copy the new content, not a placeholder.
    const cached = await docker(['build', '-t', 'bigctx:1', dir]);
    assert.equal(cached.code, 0, cached.stderr);
    assert.equal(cached.stdout.match(/Using cache/g)?.length, 4, cached.stdout);
    big[12345] ^= 0xff;
    await writeFile(join(dir, 'big.bin'), big);
    const changed = await docker(['build', '-t', 'bigctx:2', dir]);
    assert.equal(changed.code, 0, changed.stderr);
    const newSum = createHash('sha256').update(big).digest('hex');
    assert.equal((await run('bigctx:2')).stdout, `${newSum}\n${sum}\n${newSum}\n`);
    const large = await docker(['build', '-f', join(dir, 'big.Dockerfile'), '-t', 'bigctx:df', dir]);
    assert.equal(large.code, 0, large.stderr);
    assert.equal((await inspect('bigctx:df')).Config.Labels?.big, 'dockerfile');
  });

  it('the step containers get the build\'s limits (--memory, --memory-swap, --cpu-shares, --cpuset-cpus, --cpu-period, --cpu-quota, --shm-size); --squash is refused as without experimental mode', async () => {
    const dir = await context({
      Dockerfile: [
        'FROM busybox',
        'RUN cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us > /limits 2>&1; df -k /dev/shm | tail -1 | awk \'{print $2}\' >> /limits',
        'CMD ["cat", "/limits"]',
      ].join('\n') + '\n',
    });
    const r = await docker(['build', '--no-cache', '-t', 'limits:1', '--memory', '64m', '--memory-swap', '128m', '--cpu-shares', '512', '--cpuset-cpus', '0', '--cpu-period', '50000', '--cpu-quota', '25000', '--shm-size', '8m', dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const lines = (await run('limits:1')).stdout.trim().split('\n');
    // memsw is absent where swap accounting is off; the rest is always there.
    const [memory, ...rest] = lines;
    assert.equal(memory, String(64 * 1024 * 1024));
    assert.deepEqual(rest.slice(-5), ['512', '0', '50000', '25000', '8192']);
    // berth build sends the same limits.
    const viaBerth = await d.berth(['build', '--no-cache', '-t', 'limits:2', '-m', '64m', '--memory-swap', '128m', '-c', '512', '--cpuset-cpus', '0', '--cpu-period', '50000', '--cpu-quota', '25000', '--shm-size', '8m', dir]);
    assert.equal(viaBerth.code, 0, viaBerth.stderr);
    assert.deepEqual((await run('limits:2')).stdout.trim().split('\n'), lines);
    const squash = await docker(['build', '--squash', dir]);
    assert.notEqual(squash.code, 0);
    assert.match(squash.stderr, /squash is only supported with experimental mode|experimental/);
  });

  it('ONBUILD triggers run in the child build', async () => {
    const parent = await context({ Dockerfile: 'FROM busybox\nONBUILD COPY marker.txt /from-trigger\nONBUILD RUN echo ran > /trigger-ran\n' });
    assert.equal((await docker(['build', '-t', 'onbuild-parent', parent])).code, 0);
    const child = await context({ 'marker.txt': 'marker\n', Dockerfile: 'FROM onbuild-parent\nCMD ["cat", "/from-trigger", "/trigger-ran"]\n' });
    const r = await docker(['build', '-t', 'onbuild-child', child]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /# Executing 2 build triggers/);
    assert.equal((await run('onbuild-child')).stdout, 'marker\nran\n');
    assert.equal((await inspect('onbuild-child')).Config.OnBuild ?? null, null, 'triggers do not pass to grandchildren');
  });

  it('berth build and -q; builder prune and the build cache in system df', async () => {
    const dir = await context({ 'f.txt': 'berth\n', Dockerfile: 'FROM busybox\nCOPY f.txt /f\nRUN cat /f > /g\nCMD ["cat", "/g"]\n' });
    const b = await d.berth(['build', '-t', 'viaberth:1', dir]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /^Sending build context to Docker daemon {2}\S+B\n/);
    assert.match(b.stdout, /Successfully tagged viaberth:1\n$/);
    assert.equal((await run('viaberth:1')).stdout, 'berth\n');
    const q = await d.berth(['build', '-q', dir]);
    assert.equal(q.code, 0, q.stderr);
    assert.match(q.stdout, /^sha256:[0-9a-f]{64}\n$/);
    const dq = await docker(['build', '-q', dir]);
    assert.equal(dq.code, 0, dq.stderr);
    assert.equal(dq.stdout.trim(), q.stdout.trim());

    const df = await d.request('GET', '/system/df');
    assert.equal(df.status, 200);
    const cache = df.json<{ BuildCache: Array<{ Description: string; Size: number }> }>().BuildCache;
    assert.ok(cache.some((c) => c.Description.includes('COPY file:')), JSON.stringify(cache));

    const failed = await context({ Dockerfile: 'FROM busybox\nRUN echo leftover > /l\nRUN false\n' });
    assert.notEqual((await docker(['build', '--force-rm', failed])).code, 0);
    const prune = await d.berth(['builder', 'prune', '-f']);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stdout, /Total reclaimed space: /);
    assert.match(prune.stdout, /Deleted build cache objects:/, 'the failed build\'s cached step is dangling');
    const all = await d.request('POST', '/build/prune?all=1');
    assert.equal(all.status, 200);
    const after = (await d.request('GET', '/system/df')).json<{ BuildCache: unknown[] }>().BuildCache;
    assert.equal(after.length, 0);
    assert.equal((await run('viaberth:1')).stdout, 'berth\n', 'tagged images survive a prune');
  });

  it('--cache-from reuses the steps of a given image once the cache index forgot them', async () => {
    const dir = await context({ 'f.txt': 'cf\n', Dockerfile: 'FROM busybox\nENV A=1\nCOPY f.txt /f\nRUN cat /f > /g\n' });
    assert.equal((await docker(['build', '-t', 'cachefrom:1', dir])).code, 0);
    assert.equal((await d.request('POST', '/build/prune?all=1')).status, 200);
    const plain = await docker(['build', '-t', 'cachefrom:2', dir]);
    assert.doesNotMatch(plain.stdout, /Using cache/, 'the index was emptied');
    await d.request('POST', '/build/prune?all=1');
    const r = await docker(['build', '--cache-from', 'cachefrom:1', '-t', 'cachefrom:3', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/ ---> Using cache/g)?.length, 3, r.stdout);
    assert.equal((await inspect('cachefrom:3')).Id, (await inspect('cachefrom:1')).Id);
  });

  it('a client that hangs up cancels the build: the RUN container goes, nothing is tagged', async () => {
    const dir = await context({ Dockerfile: 'FROM busybox\nRUN echo started && sleep 60\n' });
    const child = spawn(DOCKER, ['build', '-t', 'cancelled:1', dir], { env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config'), ...LEGACY } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise((r) => child.once('close', r));
    await eventually(async () => out.includes('started') && (await containers()) === 1);
    child.kill('SIGTERM');
    await exited;
    await eventually(async () => (await containers()) === 0, 20_000);
    assert.equal((await d.request('GET', '/images/cancelled:1/json')).status, 404);
  });

  it('answers 404, never 101, on the BuildKit endpoints buildx probes', async () => {
    for (const path of ['/grpc', '/session']) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ socketPath: d.socket, method: 'POST', path, headers: { Connection: 'Upgrade', Upgrade: 'h2c' } });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('upgrade', (res, socket) => {
          socket.destroy();
          resolve(res.statusCode ?? 101);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 404, path);
    }
  });
});

describe('docker build on the copy (vfs) storage driver', () => {
  let d: TestDaemon;
  let dir: string;
  before(async () => {
    d = await TestDaemon.start(['--storage-driver', 'vfs']);
    await d.loadBusybox();
    dir = await mkdtemp(join(tmpdir(), 'berth-build-vfs-'));
  });
  after(async () => {
    try {
      await d?.stop();
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  });

  it('layers are the difference between full trees, deletions as whiteouts', async () => {
    await writeFile(join(dir, 'f'), 'copied\n');
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nWORKDIR /w\nWORKDIR /tmp\nCOPY f /app/f\nRUN rm /bin/true && echo made > /app/g\nRUN rm /app/f\nCMD ["sh", "-c", "ls /app; cat /app/g; ls /bin/true 2>&1 || true; ls -d /w"]\n');
    const r = await d.docker(['build', '-t', 'vfs:1', dir], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    // Not --rm: `docker rm` returns once the network is released, so the daemon stops clean.
    const out = await d.docker(['run', '--name', 'vfs-run', 'vfs:1']);
    assert.equal(out.stdout, 'g\nmade\nls: /bin/true: No such file or directory\n/w\n');
    assert.equal((await d.docker(['rm', 'vfs-run'])).code, 0);
    const img = (await d.request('GET', '/images/vfs:1/json')).json<{ RootFS: { Layers: string[] } }>();
    assert.equal(img.RootFS.Layers.length, 5, 'busybox, WORKDIR /w (WORKDIR /tmp made nothing), COPY and two RUNs');
    const hist = (await d.request('GET', '/images/vfs:1/history')).json<Array<{ Size: number; CreatedBy: string }>>();
    const copy = hist.find((h) => h.CreatedBy.includes('COPY file:'))!;
    assert.equal(copy.Size, 7, 'the COPY layer holds only the copied file');
  });
});
