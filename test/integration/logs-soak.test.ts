import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { DOCKER, TestDaemon, eventually } from '../helpers/daemon.js';

// Soak: 20 clients read `logs -f` and `logs --tail` from three containers
// writing as fast as they can, and hang up at random, for a bounded time.
// Afterwards berthd holds no more files than before, no deleted file, burns
// no CPU, and answers /_ping.

const SOAK_MS = 12_000;
const CLIENTS = 20;

async function fdsOf(pid: number): Promise<string[]> {
  const out: string[] = [];
  for (const fd of await readdir(`/proc/${pid}/fd`)) out.push(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => 'gone'));
  return out;
}

/** utime + stime of a process, in clock ticks. */
async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

describe('logs soak', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
  });
  after(async () => {
    await d?.stop();
  });

  it('20 clients following and tailing fast writers, hanging up at random, leave berthd as it was', async () => {
    const pid = d.proc!.pid!;
    // Warm up the paths the soak takes (a container, logs, remove) so lazily opened things count in the baseline.
    const warm = (await d.docker(['run', '-d', 'busybox', 'echo', 'warm'])).stdout.trim();
    await d.docker(['wait', warm]);
    await d.docker(['logs', '--tail', '1', warm]);
    await d.docker(['rm', '-f', warm]);
    const baseline = (await fdsOf(pid)).length;

    const ids: string[] = [];
    for (const cmd of [['yes'], ['yes', 'a somewhat longer line from the second writer'], ['sh', '-c', 'i=0; while true; do echo $i; i=$((i+1)); done']]) {
      const r = await d.docker(['run', '-d', 'busybox', ...cmd]);
      assert.equal(r.code, 0, r.stderr);
      ids.push(r.stdout.trim());
    }

    const stats = { follows: 0, followBytes: 0, tails: 0, tailOk: 0, cli: 0 };
    const deadline = Date.now() + SOAK_MS;
    const children = new Set<number>();

    /** One raw API request, hung up after `hangUpMs` (or when it ends). */
    const apiRead = (path: string, hangUpMs: number) =>
      new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const req = httpRequest({ socketPath: d.socket, path }, (res) => {
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size < 1 << 20) chunks.push(c);
          });
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', () => resolve(Buffer.concat(chunks)));
          res.on('close', () => resolve(Buffer.concat(chunks)));
        });
        req.on('error', () => resolve(Buffer.concat(chunks)));
        req.end();
        setTimeout(() => req.destroy(), hangUpMs);
      });

    const client = async (n: number) => {
      while (Date.now() < deadline) {
        const id = ids[rand(0, ids.length)]!;
        const pick = rand(0, 10);
        if (pick < 4) {
          const body = await apiRead(`/v1.47/containers/${id}/logs?stdout=1&stderr=1&follow=1&tail=${rand(0, 50)}`, rand(50, 1500));
          stats.follows++;
          stats.followBytes += body.length;
        } else if (pick < 8) {
          const tail = rand(1, 200);
          const body = await apiRead(`/v1.47/containers/${id}/logs?stdout=1&tail=${tail}`, rand(5, 2000));
          stats.tails++;
          // A whole answer carries exactly `tail` frames.
          let frames = 0;
          for (let at = 0; at + 8 <= body.length; at += 8 + body.readUInt32BE(at + 4)) frames++;
          if (frames === tail) stats.tailOk++;
        } else {
          // The real docker CLI, killed (by its own pid) part way through.
          const child = spawn(DOCKER, ['logs', ...(n % 2 ? ['-f'] : ['--tail', '20']), id], {
            env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config') },
            stdio: ['ignore', 'ignore', 'ignore'],
          });
          children.add(child.pid!);
          const exited = new Promise((r) => child.once('exit', r));
          const timer = setTimeout(() => child.kill('SIGKILL'), rand(50, 1500));
          await exited;
          clearTimeout(timer);
          children.delete(child.pid!);
          stats.cli++;
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
    assert.equal(children.size, 0);
    assert.ok(stats.follows > 0 && stats.followBytes > 0, JSON.stringify(stats));
    assert.ok(stats.tailOk > 0, `some tails came back whole: ${JSON.stringify(stats)}`);

    // A follower still streams a fast writer continuously.
    const streamed = await apiRead(`/v1.47/containers/${ids[0]}/logs?stdout=1&follow=1&tail=0`, 1000);
    assert.ok(streamed.length > 64 * 1024, `followed ${streamed.length} bytes of yes in 1 s`);

    for (const id of ids) assert.equal((await d.docker(['rm', '-f', id])).code, 0);

    const settled = await eventually(async () => {
      const fds = await fdsOf(pid);
      return fds.length <= baseline ? fds : undefined;
    }, 15_000).catch(async () => fdsOf(pid));
    assert.ok(settled.length <= baseline, `berthd holds ${settled.length} fds, ${baseline} before:\n${settled.join('\n')}`);
    assert.deepEqual(settled.filter((f) => f.includes('(deleted)')), []);

    const before = await cpuTicks(pid);
    await new Promise((r) => setTimeout(r, 1500));
    const used = (await cpuTicks(pid)) - before;
    // Idle is a tick or two (timers, the ping below); a spinning reader would be ~150.
    assert.ok(used <= 10, `berthd used ${used} ticks of CPU in 1.5 s while idle`);

    const ping = await d.request('GET', '/_ping');
    assert.equal(ping.status, 200);
    assert.equal(ping.body, 'OK');
    console.log(`soak: ${JSON.stringify(stats)}, fds ${baseline} -> ${settled.length}, idle CPU ${used} ticks/1.5 s`);
  });
});
