import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { TestDaemon } from '../helpers/daemon.js';
import { importImage } from '../helpers/images.js';
import { definitionErrors } from '../helpers/api-schema.js';

// /events filters as dockerd applies them (type, container, image, event,
// label, volume; since/until windows) through the docker CLI, berth and
// dockerode; image prune (dangling, -a, label and until filters) and its
// events.

interface Ev { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> }; time: number; timeNano: number }

describe('events filters and image prune', () => {
  let d: TestDaemon;
  let docker: Dockerode;
  const u = `ep${process.pid}`;
  let t0: number;
  let t1: number;
  let web: string;
  let db: string;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    docker = new Dockerode({ socketPath: d.socket });
    t0 = Math.floor(Date.now() / 1000) - 1;
    await importImage(d, `other${u}:1`, [], ['LABEL tier=x']);
    web = (await d.docker(['run', '-d', '--name', `web${u}`, '--label', 'app=shop', '--label', 'tier=front', 'busybox', 'sleep', '1000'])).stdout.trim();
    db = (await d.docker(['run', '-d', '--name', `db${u}`, '--label', 'app=shop', '--label', 'tier=back', '-v', `vol${u}:/data`, `other${u}:1`, 'sleep', '1000'])).stdout.trim();
    assert.match(web, /^[0-9a-f]{64}$/);
    assert.match(db, /^[0-9a-f]{64}$/);
    await d.docker(['stop', '-t', '0', web]);
    await new Promise((r) => setTimeout(r, 1100)); // a second boundary for the since/until window below
    t1 = Math.floor(Date.now() / 1000);
    await d.docker(['start', web]);
  });
  after(async () => {
    await d?.stop();
  });

  const until = () => String(Math.floor(Date.now() / 1000) + 1);
  async function dockerEvents(...filters: string[]): Promise<Ev[]> {
    const r = await d.docker(['events', '--since', String(t0), '--until', until(), '--format', '{{json .}}', ...filters.flatMap((f) => ['--filter', f])]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev);
  }
  const actions = (evs: Ev[]) => evs.map((e) => `${e.Type}:${e.Action}:${e.Actor.Attributes.name ?? e.Actor.ID}`);

  it('type, event and container filters (ID prefix or name), through the docker CLI', async () => {
    const starts = await dockerEvents('type=container', 'event=start');
    assert.deepEqual(actions(starts), [`container:start:web${u}`, `container:start:db${u}`, `container:start:web${u}`]);
    const byPrefix = await dockerEvents(`container=${web.slice(0, 10)}`, 'event=stop');
    assert.deepEqual(actions(byPrefix), [`container:stop:web${u}`]);
    const byName = await dockerEvents(`container=db${u}`);
    assert.ok(byName.length > 0 && byName.every((e) => e.Type === 'container' && e.Actor.ID === db), JSON.stringify(actions(byName)));
    assert.deepEqual(byName.slice(0, 2).map((e) => e.Action), ['create', 'start']);
    const two = await dockerEvents('event=create', 'event=die');
    assert.deepEqual(actions(two).filter((a) => a.startsWith('container')), [`container:create:web${u}`, `container:create:db${u}`, `container:die:web${u}`]);
    assert.ok(two.every((e) => e.Action === 'create' || e.Action === 'die'));
    assert.ok(two.some((e) => e.Type === 'volume' && e.Action === 'create'), 'volume create passes an event filter alone');
    for (const e of [...starts, ...byName]) assert.deepEqual(definitionErrors('EventMessage', e, false), []);
  });

  it('label filters must all hold; image matches with or without the tag, for container and image events', async () => {
    const shop = await dockerEvents('label=app=shop', 'event=create');
    assert.deepEqual(actions(shop), [`container:create:web${u}`, `container:create:db${u}`]);
    const front = await dockerEvents('label=app=shop', 'label=tier=front', 'event=create');
    assert.deepEqual(actions(front), [`container:create:web${u}`]);
    const keyOnly = await dockerEvents('label=tier', 'type=container', 'event=create');
    assert.equal(keyOnly.length, 2);
    const img = await dockerEvents(`image=other${u}`);
    assert.ok(img.some((e) => e.Type === 'image' && e.Action === 'import'), 'the image\'s own events');
    assert.ok(img.some((e) => e.Type === 'container' && e.Actor.ID === db), 'containers of the image');
    assert.ok(img.every((e) => e.Actor.ID !== web), 'not other images\' containers');
    const tagged = await dockerEvents(`image=other${u}:1`, 'type=container', 'event=create');
    assert.deepEqual(actions(tagged), [`container:create:db${u}`]);
  });

  it('volume events by name and type; since/until cut the window', async () => {
    const vol = await dockerEvents(`volume=vol${u}`);
    assert.deepEqual(vol.map((e) => e.Action).slice(0, 2), ['create', 'mount']);
    assert.ok(vol.every((e) => e.Type === 'volume'));
    const byType = await dockerEvents('type=volume', 'event=mount');
    assert.equal(byType.length, 1);
    const late = await d.docker(['events', '--since', String(t1), '--until', until(), '--format', '{{.Type}} {{.Action}}', '--filter', `container=web${u}`]);
    assert.equal(late.stdout, 'container start\n', 'only what happened after t1');
    const early = await d.docker(['events', '--since', String(t0), '--until', String(t1), '--format', '{{.Action}}', '--filter', `container=web${u}`]);
    assert.equal(early.stdout.split('\n').filter((l) => l === 'start').length, 1, `only the first start: ${early.stdout}`);
    assert.ok(early.stdout.includes('stop'));
  });

  it('berth events and dockerode take the same filters', async () => {
    const b = await d.berth(['events', '--since', String(t0), '--until', until(), '--format', '{{.Action}} {{.Actor.Attributes.name}}', '--filter', 'label=tier=back', '--filter', 'event=create']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, `create db${u}\n`);
    const stream = await docker.getEvents({ since: t0, until: Number(until()), filters: { type: ['container'], event: ['stop'] } });
    let text = '';
    for await (const chunk of stream) text += chunk.toString();
    const evs = text.trim().split('\n').map((l) => JSON.parse(l) as Ev);
    assert.deepEqual(evs.map((e) => e.Actor.ID), [web]);
  });

  it('a live stream sees only matching events', async () => {
    const stream = await docker.getEvents({ filters: { container: [`db${u}`], event: ['pause', 'unpause'] } });
    const got: Ev[] = [];
    const done = new Promise<void>((resolve) => {
      stream.on('data', (c: Buffer) => {
        for (const l of c.toString().split('\n').filter(Boolean)) got.push(JSON.parse(l) as Ev);
        if (got.length >= 2) resolve();
      });
    });
    await d.docker(['pause', web]);
    await d.docker(['unpause', web]);
    await d.docker(['pause', db]);
    await d.docker(['unpause', db]);
    await done;
    (stream as unknown as { destroy(): void }).destroy();
    assert.deepEqual(got.map((e) => `${e.Actor.ID === db}:${e.Action}`), ['true:pause', 'true:unpause']);
  });

  it('image prune: dangling by default, -a for unused ones, label filters; docker CLI, berth, dockerode', async () => {
    // A tag moved to a new image leaves the old one dangling.
    const oldId = await importImage(d, `prn${u}:1`, [{ name: 'a', content: 'old' }]);
    const newId = await importImage(d, `prn${u}:1`, [{ name: 'a', content: 'new' }]);
    assert.notEqual(oldId, newId);
    const r = await d.docker(['image', 'prune', '-f']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Deleted Images:\\ndeleted: ${oldId}\\n(deleted: sha256:[0-9a-f]{64}\\n)*\\nTotal reclaimed space: [1-9][0-9.]*[kM]?B\\n$`));
    assert.equal((await d.docker(['image', 'inspect', '-f', '{{.Id}}', `prn${u}:1`])).stdout.trim(), newId);
    assert.equal((await d.docker(['image', 'prune', '-f'])).stdout, 'Total reclaimed space: 0B\n');

    // -a with a label filter: only unused images with that label; busybox (used) and others stay.
    await importImage(d, `lbl${u}:1`, [], ['LABEL prune=me']);
    const b = await d.berth(['image', 'prune', '-a', '-f', '--filter', 'label=prune=me']);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, new RegExp(`^Deleted Images:\\nuntagged: lbl${u}:1\\ndeleted: sha256:[0-9a-f]{64}\\n`));
    assert.equal((await d.docker(['image', 'inspect', `lbl${u}:1`])).code, 1);
    // dockerode: everything unused but the label=x image used by db; busybox is used by web.
    const report = await docker.pruneImages({ filters: { dangling: ['false'], 'label!': ['never'] } });
    const untagged = (report.ImagesDeleted ?? []).map((i) => i.Untagged).filter(Boolean);
    assert.deepEqual(untagged, [`prn${u}:1`]);
    const left = (await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim().split('\n').sort();
    assert.deepEqual(left, ['busybox:latest', `other${u}:1`].sort());
    const bad = await d.request('POST', '/images/prune?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D');
    assert.equal(bad.status, 400);
    assert.equal(bad.json<{ message: string }>().message, "invalid filter 'nope'");
    const evs = await dockerEvents('type=image', 'event=prune');
    assert.equal(evs.length, 4);
    const del = await dockerEvents('type=image', 'event=delete', `image=${oldId}`);
    assert.equal(del.length, 1);
  });

  it('berth image prune asks first, on stdout as docker', async () => {
    const r = await d.berth(['image', 'prune'], { input: 'n\n' });
    const viaDocker = await d.docker(['image', 'prune'], { input: 'n\n' });
    assert.equal(r.stdout, viaDocker.stdout);
    assert.equal(r.stdout, 'WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ');
  });
});
