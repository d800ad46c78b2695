import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageHistoryItem, ImageSummary } from '../../types/engine.js';
import { FakeEngine, sendJson } from '../../client/testing/fake-engine.js';
import { runBerth } from '../testing/run-berth.js';
import { renderFormat } from '../format/index.js';
import { DEFAULT_IMAGE_TABLE, IMAGE_HEADERS, imageFormat, imageRows } from './image-list.js';
import { HistoryRow } from './image-history.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const ID = 'sha256:6fd955f66c231c1a946653170d096a3ac3b8e0d3e14df50cde1f0ec2e7e6c9b0';

function image(over: Partial<ImageSummary> = {}): ImageSummary {
  return { Id: ID, ParentId: '', RepoTags: ['busybox:latest'], RepoDigests: [], Created: NOW / 1000 - 3 * 7 * 86400, Size: 4_261_574, SharedSize: -1, Labels: {}, Containers: -1, ...over };
}

function render(images: ImageSummary[], format: string, opts = { trunc: true, digest: false }): string {
  const needDigest = opts.digest || format.includes('{{.Digest}}');
  const rows = images.flatMap((i) => imageRows(i, { ...opts, needDigest, now: NOW }));
  return renderFormat(format, rows, { defaultTable: DEFAULT_IMAGE_TABLE, headers: IMAGE_HEADERS });
}

describe('images output', () => {
  it('renders docker\'s table, one row per tag, dangling images as <none>', () => {
    const text = render([image({ RepoTags: ['busybox:latest', 'localhost:5000/box:v1'] }), image({ Id: 'sha256:' + 'e'.repeat(64), RepoTags: [], Size: 1000 })], imageFormat('table', false, false));
    assert.equal(
      text,
      [
        'REPOSITORY           TAG       IMAGE ID       CREATED       SIZE',
        'busybox              latest    6fd955f66c23   3 weeks ago   4.26MB',
        'localhost:5000/box   v1        6fd955f66c23   3 weeks ago   4.26MB',
        '<none>               <none>    eeeeeeeeeeee   3 weeks ago   1kB',
        '',
      ].join('\n'),
    );
  });

  it('adds the DIGEST column with --digests', () => {
    const digest = 'sha256:' + 'a'.repeat(64);
    const text = render([image({ RepoDigests: [`busybox@${digest}`] })], imageFormat('table', false, true), { trunc: true, digest: true });
    assert.match(text, /^REPOSITORY +TAG +DIGEST +IMAGE ID +CREATED +SIZE\nbusybox +latest +sha256:a{64} +6fd955f66c23 /);
  });

  it('prints IDs only for -q, and the full ID with --no-trunc', () => {
    assert.equal(render([image()], imageFormat('table', true, false)), '6fd955f66c23\n');
    assert.equal(render([image()], '{{.ID}}', { trunc: false, digest: false }), `${ID}\n`);
  });
});

describe('history output', () => {
  it('renders docker\'s history table', () => {
    const items: ImageHistoryItem[] = [
      { Id: ID, Created: NOW / 1000 - 3600 * 5, CreatedBy: 'CMD ["sh"]', Tags: ['busybox:latest'], Size: 0, Comment: '' },
      { Id: '<missing>', Created: NOW / 1000 - 3600 * 5, CreatedBy: 'ADD file:abc in / \t' + 'x'.repeat(60), Tags: [], Size: 4_261_574, Comment: 'Imported from -' },
    ];
    const rows = items.map((h) => new HistoryRow(h, true, true, NOW));
    assert.equal(
      renderFormat('table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}', rows, { defaultTable: '', headers: { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' } }),
      [
        'IMAGE          CREATED       CREATED BY                                      SIZE      COMMENT',
        '6fd955f66c23   5 hours ago   CMD ["sh"]                                      0B        ',
        '<missing>      5 hours ago   ADD file:abc in /  xxxxxxxxxxxxxxxxxxxxxxxxx…   4.26MB    Imported from -',
        '',
      ].join('\n'),
    );
    assert.equal(new HistoryRow(items[1]!, true, false, NOW).Size, '4261574');
  });
});

describe('image commands', () => {
  let engine: FakeEngine;
  let dir: string;
  before(async () => {
    engine = await FakeEngine.start();
    dir = await mkdtemp(join(tmpdir(), 'berth-image-test-'));
    engine.on('GET', '/images/json', (ctx) => sendJson(ctx.res, 200, [image()]));
    engine.on('DELETE', '/images/(.+)', (ctx) => {
      if (ctx.params[0] === 'ghost') return sendJson(ctx.res, 404, { message: 'No such image: ghost:latest' });
      if (ctx.params[0] === 'busy') return sendJson(ctx.res, 409, { message: 'conflict: unable to remove repository reference "busy"' });
      sendJson(ctx.res, 200, [{ Untagged: `${ctx.params[0]}:latest` }, { Deleted: ID }]);
    });
    engine.on('POST', '/images/(.+)/tag', (ctx) => void ctx.res.writeHead(201).end());
    engine.on('POST', '/images/create', (ctx) => {
      ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
      if (ctx.body.toString() === 'bad') ctx.res.end(JSON.stringify({ error: 'archive/tar: invalid tar header', errorDetail: { message: 'archive/tar: invalid tar header' } }) + '\n');
      else ctx.res.end(JSON.stringify({ status: ID }) + '\n');
    });
  });
  after(async () => {
    await engine.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('images filters by the REPOSITORY argument', async () => {
    const r = await runBerth(['images', '-f', 'dangling=false', 'busybox'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(engine.calls('GET', '/images/json').at(-1)!.query.get('filters')!), { dangling: ['false'], reference: ['busybox'] });
    assert.match(r.stdout, /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\nbusybox +latest +6fd955f66c23 /);
  });

  it('rmi prints Untagged/Deleted lines and reports failures', async () => {
    const ok = await runBerth(['rmi', 'busybox'], { host: engine.host });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `Untagged: busybox:latest\nDeleted: ${ID}\n`);
    const bad = await runBerth(['rmi', 'ghost', 'busybox'], { host: engine.host });
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'Error response from daemon: No such image: ghost:latest\n');
    const forced = await runBerth(['image', 'rm', '-f', 'ghost'], { host: engine.host });
    assert.equal(forced.code, 0, 'a missing image is not fatal with -f');
    assert.equal(forced.stderr, 'Error response from daemon: No such image: ghost:latest\n');
    const conflict = await runBerth(['rmi', '-f', 'busy'], { host: engine.host });
    assert.equal(conflict.code, 1);
    assert.equal(engine.calls('DELETE', '/images/busy').at(-1)!.query.get('force'), '1');
  });

  it('tag sends repo and tag, and rejects bad references', async () => {
    const r = await runBerth(['tag', 'busybox', 'localhost:5000/box:v2'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    const q = engine.calls('POST', '/images/busybox/tag').at(-1)!.query;
    assert.equal(q.get('repo'), 'localhost:5000/box');
    assert.equal(q.get('tag'), 'v2');
    const bad = await runBerth(['tag', 'busybox', 'Bad:tag'], { host: engine.host });
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'Error parsing reference: "Bad:tag" is not a valid repository/tag: invalid reference format: repository name (library/Bad) must be lowercase\n');
  });

  it('import streams the file with changes and message, and prints the ID', async () => {
    const file = join(dir, 'rootfs.tar');
    await writeFile(file, 'tar-bytes');
    const r = await runBerth(['import', '-c', 'CMD ["sh"]', '--change', 'ENV A=1', '-m', 'first', file, 'mybox:v1'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${ID}\n`);
    const call = engine.calls('POST', '/images/create').at(-1)!;
    assert.equal(call.body.toString(), 'tar-bytes');
    assert.deepEqual(call.query.getAll('changes'), ['CMD ["sh"]', 'ENV A=1']);
    assert.equal(call.query.get('repo'), 'mybox');
    assert.equal(call.query.get('tag'), 'v1');
    assert.equal(call.query.get('message'), 'first');
  });

  it('import reads - from stdin and reports stream errors', async () => {
    const r = await runBerth(['import', '-'], { host: engine.host, input: 'bad' });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'archive/tar: invalid tar header\n');
    const missing = await runBerth(['import', join(dir, 'nope.tar')], { host: engine.host });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `open ${join(dir, 'nope.tar')}: no such file or directory\n`);
  });
});
