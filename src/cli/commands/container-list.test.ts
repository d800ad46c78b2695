import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerSummary } from '../../types/engine.js';
import { FakeEngine, sendJson } from '../../client/testing/fake-engine.js';
import { runBerth } from '../testing/run-berth.js';
import { renderFormat } from '../format/index.js';
import { CONTAINER_HEADERS, ContainerRow, DEFAULT_CONTAINER_TABLE, containerFormat } from './container-list.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');

function summary(over: Partial<ContainerSummary> = {}): ContainerSummary {
  return {
    Id: '4f66ad9a0b2e1234567890abcdef1234567890abcdef1234567890abcdef1234',
    Names: ['/web'],
    Image: 'busybox',
    ImageID: 'sha256:aaaaaaaaaaaa0000000000000000000000000000000000000000000000000000',
    Command: 'sh -c \'while true; do echo hi; sleep 1; done\'',
    Created: NOW / 1000 - 120,
    Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }],
    Labels: { b: '2', a: '1' },
    State: 'running',
    Status: 'Up 2 minutes',
    HostConfig: { NetworkMode: 'default' },
    NetworkSettings: { Networks: { bridge: {} } },
    Mounts: [],
    ...over,
  };
}

function table(rows: ContainerSummary[], format = DEFAULT_CONTAINER_TABLE, trunc = true): string {
  return renderFormat(format, rows.map((c) => new ContainerRow(c, trunc, NOW)), { defaultTable: DEFAULT_CONTAINER_TABLE, headers: CONTAINER_HEADERS });
}

describe('ps output', () => {
  it('renders docker\'s default table', () => {
    const text = table([summary(), summary({ Id: 'b'.repeat(64), Names: ['/db'], Command: 'true', Status: 'Exited (0) 5 seconds ago', Ports: [], Image: 'sha256:' + 'c'.repeat(64), ImageID: 'sha256:' + 'c'.repeat(64) })]);
    assert.equal(
      text,
      [
        'CONTAINER ID   IMAGE          COMMAND                  CREATED         STATUS                     PORTS                  NAMES',
        '4f66ad9a0b2e   busybox        "sh -c \'while true; …"   2 minutes ago   Up 2 minutes               0.0.0.0:8080->80/tcp   web',
        'bbbbbbbbbbbb   cccccccccccc   "true"                   2 minutes ago   Exited (0) 5 seconds ago                          db',
        '',
      ].join('\n'),
    );
  });

  it('shows the full command and ID with --no-trunc', () => {
    const text = table([summary()], '{{.ID}} {{.Command}}', false);
    assert.equal(text, '4f66ad9a0b2e1234567890abcdef1234567890abcdef1234567890abcdef1234 "sh -c \'while true; do echo hi; sleep 1; done\'"\n');
  });

  it('offers docker\'s fields to templates, including json and Label', () => {
    assert.equal(table([summary()], '{{.Names}}|{{.State}}|{{.Labels}}|{{.Label "a"}}|{{.Networks}}|{{.LocalVolumes}}'), 'web|running|a=1,b=2|1|bridge|0\n');
    const json = JSON.parse(table([summary()], '{{json .}}'));
    assert.deepEqual(Object.keys(json), ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status']);
    assert.equal(json.ID, '4f66ad9a0b2e');
    assert.equal(json.Platform, null);
    assert.equal(json.Size, '0B');
  });

  it('shows only the container\'s own name when links add others', () => {
    assert.equal(table([summary({ Names: ['/other/alias', '/web'] })], '{{.Names}}'), 'web\n');
    assert.equal(table([summary({ Names: ['/other/alias', '/web'] })], '{{.Names}}', false), 'other/alias,web\n');
  });

  it('trims registry and digest from image names', () => {
    assert.equal(table([summary({ Image: 'docker.io/library/busybox:1.36' })], '{{.Image}}'), 'busybox:1.36\n');
    assert.equal(table([summary({ Image: 'busybox@sha256:' + 'd'.repeat(64) })], '{{.Image}}'), 'busybox\n');
  });

  it('resolves formats like docker\'s NewContainerFormat', () => {
    assert.equal(containerFormat('', true, false), '{{.ID}}');
    assert.equal(containerFormat('table', false, true), `${DEFAULT_CONTAINER_TABLE}\t{{.Size}}`);
    assert.equal(containerFormat('{{.Names}}', true, false), '{{.ID}}');
    assert.equal(containerFormat('{{.Names}}', false, false), '{{.Names}}');
  });
});

describe('berth ps', () => {
  let engine: FakeEngine;
  before(async () => {
    engine = await FakeEngine.start();
    engine.on('GET', '/containers/json', (ctx) => sendJson(ctx.res, 200, [summary({ Created: Math.floor(Date.now() / 1000) - 120 })]));
  });
  after(async () => {
    await engine.stop();
  });

  it('maps -a, -n, -s and -f to the list query', async () => {
    const r = await runBerth(['ps', '-a', '-n', '3', '-s', '-f', 'status=exited', '-f', 'label=a=1', '-f', 'status=created'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    const q = engine.calls('GET', '/containers/json').at(-1)!.query;
    assert.equal(q.get('all'), '1');
    assert.equal(q.get('limit'), '3');
    assert.equal(q.get('size'), '1');
    assert.deepEqual(JSON.parse(q.get('filters')!), { status: ['exited', 'created'], label: ['a=1'] });
    assert.match(r.stdout, /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES +SIZE\n/);
  });

  it('prints only IDs with -q and asks for the latest with -l', async () => {
    const r = await runBerth(['container', 'ls', '-ql'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '4f66ad9a0b2e\n');
    assert.equal(engine.calls('GET', '/containers/json').at(-1)!.query.get('limit'), '1');
  });

  it('asks for sizes when the template shows them', async () => {
    await runBerth(['ps', '--format', '{{.Names}} {{.Size}}'], { host: engine.host });
    assert.equal(engine.calls('GET', '/containers/json').at(-1)!.query.get('size'), '1');
  });

  it('reports bad filters and templates like docker', async () => {
    const filter = await runBerth(['ps', '-f', 'nonsense'], { host: engine.host });
    assert.equal(filter.code, 125);
    assert.equal(filter.stderr, 'invalid argument "nonsense" for "-f, --filter" flag: bad format of filter (expected name=value)\n\nUsage:  berth ps [OPTIONS]\n\nRun \'berth ps --help\' for more information\n');
    const tmpl = await runBerth(['ps', '--format', '{{.Names'], { host: engine.host });
    assert.equal(tmpl.code, 1);
    assert.match(tmpl.stderr, /^failed to parse template: template: :1: /);
    const field = await runBerth(['ps', '--format', '{{.Nope}}'], { host: engine.host });
    assert.equal(field.code, 1);
    assert.match(field.stderr, /^template parsing error: template: :1:2: executing "" at <.Nope>: can't evaluate field Nope/);
  });
});
