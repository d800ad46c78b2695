import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestDaemon } from '../helpers/daemon.js';
import { importImage } from '../helpers/images.js';

// system prune as the docker CLI and berth run it: docker's prompt, then
// containers, networks, anonymous volumes (--volumes), images (dangling, or
// every unused one with -a) and build cache, each report and the total.

describe('system prune', () => {
  let d: TestDaemon;
  const u = `${process.pid}`;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
  });
  after(async () => {
    await d?.stop();
  });

  async function litter(tag: string): Promise<{ stopped: string; network: string; volume: string; dangling: string }> {
    const stopped = (await d.docker(['create', '--name', `stopped${tag}`, '-v', '/anon', 'busybox', 'true'])).stdout.trim();
    const volume = JSON.parse((await d.docker(['inspect', stopped])).stdout)[0].Mounts[0].Name as string;
    const net = await d.docker(['network', 'create', `net${tag}`]);
    assert.equal(net.code, 0, net.stderr);
    const dangling = await importImage(d, `img${tag}:1`, [{ name: 'a', content: 'old' }]);
    await importImage(d, `img${tag}:1`, [{ name: 'a', content: 'new' }]);
    await importImage(d, `unused${tag}:1`, [{ name: 'b', content: 'unused' }]);
    // Kept whatever happens: a running container, its image, its network.
    await d.docker(['run', '-d', '--name', `keep${tag}`, 'busybox', 'sleep', '1000']);
    return { stopped, network: `net${tag}`, volume, dangling };
  }

  it('prompts as docker (berth and the docker CLI print the same) and "n" keeps everything', async () => {
    for (const args of [['system', 'prune'], ['system', 'prune', '-a', '--volumes'], ['system', 'prune', '--filter', 'until=1h']]) {
      const viaDocker = await d.docker(args, { input: 'n\n' });
      const viaBerth = await d.berth(args, { input: 'n\n' });
      assert.equal(viaDocker.code, 0, viaDocker.stderr);
      assert.equal(viaBerth.stdout, viaDocker.stdout, args.join(' '));
      assert.equal(viaBerth.code, 0);
    }
    assert.match((await d.berth(['system', 'prune'], { input: 'n\n' })).stdout, /^WARNING! This will remove:\n {2}- all stopped containers\n {2}- all networks not used by at least one container\n {2}- all dangling images\n {2}- unused build cache\n\nAre you sure you want to continue\? \[y\/N\] $/);
    const refused = await d.berth(['system', 'prune', '--volumes', '--filter', 'until=1h', '-f']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /The "until" filter is not supported with "--volumes"/);
  });

  it('docker system prune -f --volumes removes what is unused, in docker\'s order, and keeps what runs', async () => {
    const l = await litter(`d${u}`);
    const r = await d.docker(['system', 'prune', '-f', '--volumes']);
    assert.equal(r.code, 0, r.stderr);
    const sections = [...r.stdout.matchAll(/^(Deleted [A-Za-z ]+):$/gm)].map((m) => m[1]);
    assert.deepEqual(sections, ['Deleted Containers', 'Deleted Networks', 'Deleted Volumes', 'Deleted Images']);
    assert.ok(r.stdout.includes(`Deleted Containers:\n${l.stopped}\n`), r.stdout);
    assert.ok(r.stdout.includes(`Deleted Networks:\n${l.network}\n`), r.stdout);
    assert.ok(r.stdout.includes(`Deleted Volumes:\n${l.volume}\n`), r.stdout);
    assert.ok(r.stdout.includes(`deleted: ${l.dangling}\n`), r.stdout);
    assert.match(r.stdout, /\nTotal reclaimed space: [0-9.]+[kMG]?B\n$/);
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}}', `keepd${u}`])).stdout, 'running\n');
    assert.equal((await d.docker(['image', 'inspect', '-f', '{{.Id}}', `unusedd${u}:1`])).code, 0, 'a tagged image stays without -a');
    const again = await d.docker(['system', 'prune', '-f', '--volumes']);
    assert.equal(again.stdout, 'Total reclaimed space: 0B\n');
  });

  it('berth system prune -a -f also removes unused tagged images', async () => {
    const l = await litter(`b${u}`);
    const r = await d.berth(['system', 'prune', '-a', '-f']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`Deleted Containers:\n${l.stopped}\n`), r.stdout);
    assert.ok(r.stdout.includes(`Deleted Networks:\n${l.network}\n`), r.stdout);
    assert.ok(!r.stdout.includes('Deleted Volumes'), 'volumes only with --volumes');
    assert.match(r.stdout, new RegExp(`untagged: unusedb${u}:1\\n`));
    assert.match(r.stdout, new RegExp(`untagged: unusedd${u}:1\\n`));
    assert.equal((await d.docker(['volume', 'inspect', l.volume])).code, 0, 'the anonymous volume stays');
    const images = (await d.docker(['images', '--format', '{{.Repository}}'])).stdout.trim().split('\n');
    assert.deepEqual(images, ['busybox'], 'only the image a container uses is left');
  });
});
