import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TestDaemon, runCommand, type RunResult } from '../helpers/daemon.js';

// docker-compose 1.29 `run --rm` (its default way: `docker start --attach
// --interactive` through the docker CLI, which attaches before it starts):
// every line the command writes must reach compose's stdout. With
// COMPOSE_INTERACTIVE_NO_CLI=1 compose's dockerpty sends the attach requests
// only after the start (a lazy `map` under Python 3, dockerpty #67), so the
// beginning of a fast command's output is lost there as with dockerd; that
// path is not asserted here.

const COMPOSE = '/usr/bin/docker-compose';

describe('docker-compose 1.29 run: output', () => {
  let d: TestDaemon;
  let dir: string;
  const project = `bq${randomBytes(3).toString('hex')}`;
  let compose: (args: string[]) => Promise<RunResult>;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    dir = await mkdtemp(join(tmpdir(), 'berth-compose-run-'));
    await writeFile(join(dir, 'docker-compose.yml'), ["version: '2.4'", 'services:', '  job:', '    image: busybox', ''].join('\n'));
    // compose runs `docker` from PATH for `run`.
    compose = (args) => runCommand(COMPOSE, ['-p', project, '-f', join(dir, 'docker-compose.yml'), ...args], { env: { DOCKER_HOST: d.host, PATH: `/usr/local/bin:${process.env.PATH ?? '/usr/bin:/bin'}` }, timeoutMs: 120_000 });
  });
  after(async () => {
    await compose?.(['down', '-t', '1', '--remove-orphans']).catch(() => {});
    await d?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const expectAll = (out: string, n: number) => {
    const lines = out.replace(/\r/g, '').split('\n').filter((l) => /^\d+$/.test(l));
    assert.deepEqual(lines, Array.from({ length: n }, (_, i) => String(i + 1)), `got ${lines.length} of ${n} lines; first ${lines[0]}, last ${lines[lines.length - 1]}`);
  };

  // With a tty the stdin forwarder used to leave unread what conmon sends to
  // every attach-socket client; conmon blocked on it and the run hung.
  for (const [what, flags] of [['without a tty (-T)', ['-T']], ['with a tty and stdin', []]] as const) {
    it(`run --rm ${what} prints every line of the command, and its exit code`, async () => {
      const run = await compose(['run', '--rm', ...flags, 'job', 'sh', '-c', 'i=1; while [ $i -le 20000 ]; do echo $i; i=$((i+1)); done; exit 3']);
      assert.equal(run.code, 3, run.stderr);
      expectAll(run.stdout, 20000);
    });
  }
});
