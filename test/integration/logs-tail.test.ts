import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { TestDaemon, eventually } from '../helpers/daemon.js';

// logs `tail` as dockerd reads it: a whole number of zero or more is a line
// count; anything else (-1 as testcontainers sends, other negatives, "all",
// garbage) means every line.

describe('logs tail', () => {
  let d: TestDaemon;
  let id: string;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    id = (await d.docker(['run', '-d', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo l$i; done; sleep 1000'])).stdout.trim();
    await eventually(async () => (await d.docker(['logs', id])).stdout === 'l1\nl2\nl3\nl4\nl5\n');
  });
  after(async () => {
    await d?.stop();
  });

  const all = 'l1\nl2\nl3\nl4\nl5\n';

  it('the docker CLI and berth: -1 and any negative mean all, 2 means two', async () => {
    for (const tail of ['-1', '-5', 'all']) {
      const r = await d.docker(['logs', '--tail', tail, id]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, all, `docker --tail ${tail}`);
      const b = await d.berth(['logs', '--tail', tail, id]);
      assert.equal(b.code, 0, b.stderr);
      assert.equal(b.stdout, all, `berth --tail ${tail}`);
    }
    assert.equal((await d.docker(['logs', '--tail', '2', id])).stdout, 'l4\nl5\n');
    assert.equal((await d.berth(['logs', '-n', '0', id])).stdout, '');
  });

  it('dockerode with tail: -1 (what testcontainers sends) gets every line', async () => {
    const docker = new Dockerode({ socketPath: d.socket });
    const buf = (await docker.getContainer(id).logs({ stdout: true, tail: -1, follow: false })) as unknown as Buffer;
    // Multiplexed frames: 8-byte header, then the payload.
    const lines: string[] = [];
    for (let off = 0; off < buf.length;) {
      const len = buf.readUInt32BE(off + 4);
      lines.push(buf.subarray(off + 8, off + 8 + len).toString());
      off += 8 + len;
    }
    assert.equal(lines.join(''), all);
  });

  it('the API takes garbage as all, as dockerd\'s Atoi fallback', async () => {
    for (const t of ['-1', 'abc', '1.5', '-100']) {
      const r = await d.request('GET', `/containers/${id}/logs?stdout=1&tail=${t}`);
      assert.equal(r.status, 200, `${t}: ${r.body}`);
      assert.equal(r.raw.length, 5 * (8 + 3), `tail=${t} gives all five frames`);
    }
    const two = await d.request('GET', `/containers/${id}/logs?stdout=1&tail=2`);
    assert.equal(two.raw.length, 2 * (8 + 3));
  });
});
