import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTHD, TestDaemon, eventually, runCommand } from '../helpers/daemon.js';

// Container logs through the real docker CLI (and the berth CLI): drivers and
// their options, rotation that keeps max-file files of max-size, reading
// across rotated files in order, `none`, and daemon.json's defaults.

/** Lines 1..n from a busybox shell loop that pauses 10 ms every 200 lines (under 1 MB/s). */
const COUNT_LOOP = (n: number) => `i=1; while [ $i -le ${n} ]; do echo $i; [ $((i % 200)) -eq 0 ] && usleep 10000; i=$((i+1)); done; true`;

/**
 * A file passes max-size by what arrives while berthd rotates it (its
 * reaction time times the rate): little at COUNT_LOOP's rate, but the machine
 * may be loaded, so the bound is loose.
 */
const SLACK = 1_000_000;

/**
 * Lines are consecutive numbers ending at `last`. The first line kept may be
 * the end of a number whose start was rotated out (conmon splits its reads
 * into partial lines): it must then end the number before the second line.
 */
function assertConsecutive(out: string, last: number): number[] {
  const nums = out.trim().split('\n').map(Number);
  assert.ok(nums.length > 1);
  assert.equal(nums[nums.length - 1], last, 'ends with the last line written');
  if (nums[1] !== nums[0]! + 1) {
    assert.ok(String(nums[1]! - 1).endsWith(String(nums[0])), `the first line ${nums[0]} is not the end of ${nums[1]! - 1}`);
    nums[0] = nums[1]! - 1;
  }
  for (let i = 1; i < nums.length; i++) {
    if (nums[i] !== nums[i - 1]! + 1) assert.fail(`line ${i}: ${nums[i - 1]} is followed by ${nums[i]}`);
  }
  return nums;
}

async function logFiles(d: TestDaemon, id: string): Promise<Array<{ name: string; size: number }>> {
  const dir = join(d.dataRoot, 'containers', id);
  const names = (await readdir(dir)).filter((n) => n.startsWith('container.log'));
  return Promise.all(names.sort().map(async (name) => ({ name, size: (await stat(join(dir, name))).size })));
}

describe('container logs', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
  });
  after(async () => {
    await d?.stop();
  });

  it('json-file is the default driver, with berth\'s rotation shown in inspect and info', async () => {
    const info = await d.docker(['info', '--format', '{{.LoggingDriver}} {{json .Plugins.Log}}']);
    assert.equal(info.code, 0, info.stderr);
    assert.equal(info.stdout.trim(), 'json-file ["json-file","k8s-file","local","none"]');
    const r = await d.docker(['run', '-d', 'busybox', 'echo', 'hi']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    const cfg = await d.docker(['inspect', '--format', '{{json .HostConfig.LogConfig}}', id]);
    assert.deepEqual(JSON.parse(cfg.stdout), { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } });
    await eventually(async () => (await d.docker(['logs', id])).stdout === 'hi\n');
    await d.docker(['rm', '-f', id]);
  });

  it('max-size=1m max-file=2 keeps two files of about 1 MB and logs reads across them in order', async () => {
    const r = await d.docker(['run', '-d', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=2', 'busybox', 'sh', '-c', COUNT_LOOP(60_000)]);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    // Follow from the start while it writes: the follower crosses every rotation.
    const follow = d.docker(['logs', '-f', id]);
    assert.equal((await d.docker(['wait', id])).stdout.trim(), '0');
    const followed = await follow;
    assert.equal(followed.code, 0, followed.stderr);
    const all = assertConsecutive(followed.stdout, 60_000);
    assert.equal(all[0], 1, 'logs -f from the start saw every line');

    const files = await logFiles(d, id);
    assert.deepEqual(files.map((f) => f.name), ['container.log', 'container.log.1']);
    // A file passes max-size by what arrives while berthd rotates it: little at this rate.
    for (const f of files) assert.ok(f.size <= 1_000_000 + SLACK, `${f.name} is ${f.size} bytes`);
    assert.ok(files[1]!.size >= 1_000_000, `the rotated file is full: ${files[1]!.size} bytes`);
    const cfg = await d.docker(['inspect', '--format', '{{json .HostConfig.LogConfig}}', id]);
    assert.deepEqual(JSON.parse(cfg.stdout), { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } });

    const logs = await d.docker(['logs', id]);
    assert.equal(logs.code, 0, logs.stderr);
    const kept = assertConsecutive(logs.stdout, 60_000);
    assert.ok(kept[0]! > 1, 'the oldest lines were rotated out');
    const tail = await d.docker(['logs', '--tail', '3', id]);
    assert.equal(tail.stdout, '59998\n59999\n60000\n');
    // A tail longer than the live file reaches into the rotated one.
    const liveLines = Math.floor(files[0]!.size / 30);
    const long = await d.docker(['logs', '--tail', String(liveLines + 100), id]);
    assertConsecutive(long.stdout, 60_000);
    assert.equal(long.stdout.trim().split('\n').length, liveLines + 100);
    await d.docker(['rm', '-f', id]);
  });

  it('a fast writer (seq) rotates too: max-file holds and the lines kept are whole, in order, none repeated', async () => {
    const r = await d.docker(['run', '-d', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=3', 'busybox', 'seq', '1', '300000']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    assert.equal((await d.docker(['wait', id])).stdout.trim(), '0');
    const files = await logFiles(d, id);
    // Under a flood a file passes max-size by what arrives while berthd reacts; the count holds.
    assert.ok(files.length <= 3, files.map((f) => f.name).join());
    const logs = await d.docker(['logs', id]);
    const nums = assertConsecutive(logs.stdout, 300_000);
    assert.ok(nums[0]! > 1, 'the oldest lines were rotated out');
    await d.docker(['rm', '-f', id]);
  });

  it('docker run prints every line of a fast writer although the files rotate under it (and with none)', async () => {
    for (const flags of [['--log-opt', 'max-size=1m', '--log-opt', 'max-file=2'], ['--log-driver', 'none']]) {
      const r = await d.docker(['run', '--rm', ...flags, 'busybox', 'seq', '1', '300000']);
      assert.equal(r.code, 0, r.stderr);
      const nums = assertConsecutive(r.stdout, 300_000);
      assert.equal(nums[0], 1, `${flags.join(' ')}: from the first line`);
    }
  });

  it('a berthd restart picks the running container\'s files up again and goes on rotating', async () => {
    // Writes after berthd is back, so that berthd (not conmon's backstop) rotates.
    const r = await d.docker(['run', '-d', '--log-opt', 'max-size=200k', '--log-opt', 'max-file=3', 'busybox', 'sh', '-c', `echo 0; sleep 3; ${COUNT_LOOP(20_000)}`]);
    const id = r.stdout.trim();
    await eventually(async () => (await d.docker(['logs', id])).stdout === '0\n');
    await d.terminate();
    await d.launch();
    assert.equal((await d.docker(['wait', id])).stdout.trim(), '0');
    const files = await logFiles(d, id);
    assert.deepEqual(files.map((f) => f.name), ['container.log', 'container.log.1', 'container.log.2']);
    assertConsecutive((await d.docker(['logs', id])).stdout, 20_000);
    await d.docker(['rm', '-f', id]);
  });

  it('restarting a container keeps the last run\'s lines before the new ones', async () => {
    const r = await d.docker(['run', '-d', '--name', `restart-logs-${process.pid}`, 'busybox', 'sh', '-c', 'date +%N; echo run']);
    const id = r.stdout.trim();
    await d.docker(['wait', id]);
    assert.equal((await d.docker(['start', '-a', id])).code, 0);
    const logs = await d.docker(['logs', id]);
    assert.equal(logs.stdout.split('\n').filter((l) => l === 'run').length, 2);
    assert.equal((await d.docker(['logs', '--tail', '1', id])).stdout, 'run\n');
    await d.docker(['rm', '-f', id]);
  });

  it('--log-driver none keeps nothing; run still prints; logs answers as dockerd does', async () => {
    const run = await d.docker(['run', '--name', `none-${process.pid}`, '--log-driver', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'out\n');
    assert.equal(run.stderr, 'err\n');
    const id = (await d.docker(['inspect', '--format', '{{.Id}}', `none-${process.pid}`])).stdout.trim();
    assert.deepEqual(await logFiles(d, id), []);
    const inspect = await d.docker(['inspect', '--format', '{{.LogPath}}|{{json .HostConfig.LogConfig}}', id]);
    assert.equal(inspect.stdout.trim(), '|{"Type":"none","Config":{}}');
    const logs = await d.docker(['logs', id]);
    assert.equal(logs.code, 1);
    assert.match(logs.stderr, /configured logging driver does not support reading/);
    await d.docker(['rm', '-f', id]);
  });

  it('refuses unknown drivers and options, and bad values, with dockerd\'s messages', async () => {
    const before = (await d.docker(['ps', '-aq'])).stdout;
    const cases: Array<[string[], RegExp]> = [
      [['--log-driver', 'syslog'], /logger: no log driver named 'syslog' is registered/],
      [['--log-opt', 'bogus=1'], /unknown log opt 'bogus' for json-file log driver/],
      [['--log-driver', 'local', '--log-opt', 'tag=x'], /unknown log opt 'tag' for local log driver/],
      [['--log-opt', 'max-size=lots'], /invalid size: 'lots'/],
      [['--log-opt', 'max-size=1m', '--log-opt', 'max-file=0'], /max-file cannot be less than 1/],
      [['--log-opt', 'mode=sometimes'], /logger: logging mode not supported: sometimes/],
    ];
    for (const [flags, message] of cases) {
      const r = await d.docker(['create', ...flags, 'busybox', 'true']);
      assert.equal(r.code, 1, `${flags.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const run = await d.docker(['run', '--rm', '--log-driver', 'gelf', 'busybox', 'true']);
    assert.equal(run.code, 125);
    assert.match(run.stderr, /logger: no log driver named 'gelf' is registered/);
    assert.equal((await d.docker(['ps', '-aq'])).stdout, before, 'nothing was created');
  });

  it('the berth CLI sends --log-opt too', async () => {
    const r = await d.berth(['create', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=2', 'busybox', 'true']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    const cfg = await d.docker(['inspect', '--format', '{{json .HostConfig.LogConfig}}', id]);
    assert.deepEqual(JSON.parse(cfg.stdout), { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } });
    await d.docker(['rm', '-f', id]);
  });
});

describe('daemon.json log-driver and log-opts', () => {
  it('are the defaults of new containers and shown in info; bad ones stop berthd from starting', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-logcfg-'));
    let d: TestDaemon | undefined;
    try {
      const bad = join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify({ 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m', colour: 'blue' } }));
      const refused = await runCommand(process.execPath, [BERTHD, '--config-file', bad, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', `unix://${join(dir, 's.sock')}`], { timeoutMs: 15_000 });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /unknown log opt 'colour' for json-file log driver/);

      const good = join(dir, 'daemon.json');
      await writeFile(good, JSON.stringify({ 'log-driver': 'json-file', 'log-opts': { 'max-size': '200k', 'max-file': '2' } }));
      d = await TestDaemon.start(['--config-file', good]);
      await d.loadBusybox();
      const info = await d.docker(['info', '--format', '{{.LoggingDriver}}']);
      assert.equal(info.stdout.trim(), 'json-file');
      const r = await d.docker(['run', '-d', 'busybox', 'sh', '-c', COUNT_LOOP(20_000)]);
      const id = r.stdout.trim();
      await d.docker(['wait', id]);
      const cfg = await d.docker(['inspect', '--format', '{{json .HostConfig.LogConfig}}', id]);
      assert.deepEqual(JSON.parse(cfg.stdout), { Type: 'json-file', Config: { 'max-size': '200k', 'max-file': '2' } });
      const files = await logFiles(d, id);
      assert.equal(files.length, 2);
      for (const f of files) assert.ok(f.size <= 200_000 + SLACK / 5, `${f.name} is ${f.size} bytes`);
      assertConsecutive((await d.docker(['logs', id])).stdout, 20_000);
      // A container's own max-size wins; the daemon's max-file still applies.
      const own = await d.docker(['create', '--log-opt', 'max-size=1m', 'busybox', 'true']);
      const ownCfg = await d.docker(['inspect', '--format', '{{json .HostConfig.LogConfig}}', own.stdout.trim()]);
      assert.deepEqual(JSON.parse(ownCfg.stdout), { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } });
      // Another driver does not inherit them.
      const local = await d.docker(['create', '--log-driver', 'local', 'busybox', 'true']);
      const localCfg = await d.docker(['inspect', '--format', '{{json .HostConfig.LogConfig}}', local.stdout.trim()]);
      assert.deepEqual(JSON.parse(localCfg.stdout), { Type: 'local', Config: { 'max-size': '10m', 'max-file': '3' } });
    } finally {
      await d?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
