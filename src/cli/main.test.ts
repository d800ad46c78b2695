import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBerth } from './testing/run-berth.js';
import { startDaemonInBackground } from './daemon-autostart.js';

// The command line itself: help, unknown commands, global flags, errors.

describe('berth command line', () => {
  it('prints docker-style help for --help and for no command (on stderr)', async () => {
    const help = await runBerth(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: {2}berth \[OPTIONS\] COMMAND\n\nA self-sufficient runtime for containers\n\nCommon Commands:\n {2}run {9}Create and run a new container from an image\n/);
    assert.match(help.stdout, /\nManagement Commands:\n {2}builder {5}Manage builds\n {2}container {3}Manage containers\n {2}image {7}Manage images\n {2}network {5}Manage networks\n {2}registry {4}Run berth's own registry server\n {2}system {6}Manage berth\n/);
    assert.match(help.stdout, /\nGlobal Options:\n {6}--config string {6}Location of client config files \(default\n/);
    const bare = await runBerth([]);
    assert.equal(bare.code, 0);
    assert.equal(bare.stdout, '');
    assert.equal(bare.stderr, help.stdout);
  });

  it('prints a command\'s help like docker', async () => {
    const r = await runBerth(['stop', '--help']);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      "Usage:  berth stop [OPTIONS] CONTAINER [CONTAINER...]\n\nStop one or more running containers\n\nAliases:\n  berth container stop, berth stop\n\nOptions:\n  -s, --signal string   Signal to send to the container\n  -t, --timeout int     Seconds to wait before killing the container\n",
    );
    const helpCmd = await runBerth(['help', 'container', 'stop']);
    assert.equal(helpCmd.stdout, r.stdout.replace('Usage:  berth stop', 'Usage:  berth container stop'));
    const runHelp = await runBerth(['run', '--help']);
    assert.match(runHelp.stdout, /\n {6}--help +Print usage\n/);
    assert.match(runHelp.stdout, /\n {2}-h, --hostname string +Container host name\n/);
  });

  it('prints group help and rejects unknown subcommands', async () => {
    const group = await runBerth(['container']);
    assert.equal(group.code, 0);
    assert.match(group.stderr, /^Usage: {2}berth container COMMAND\n\nManage containers\n\nCommands:\n {2}attach {6}Attach local/);
    assert.match(group.stderr, /\n\nRun 'berth container COMMAND --help' for more information on a command.\n$/);
    const unknown = await runBerth(['container', 'bogus']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, "berth: unknown command: berth container bogus\n\nUsage:  berth container\n\nRun 'berth container --help' for more information\n");
  });

  it('rejects unknown commands like docker', async () => {
    const r = await runBerth(['foo']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "berth: unknown command: berth foo\n\nRun 'berth --help' for more information\n");
  });

  it('reports flag and argument errors with docker\'s exit codes', async () => {
    const flag = await runBerth(['ps', '--foo']);
    assert.equal(flag.code, 125);
    assert.equal(flag.stderr, "unknown flag: --foo\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information\n");
    const args = await runBerth(['rm']);
    assert.equal(args.code, 1);
    assert.equal(args.stderr, "berth: 'berth rm' requires at least 1 argument\n\nUsage:  berth rm [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'berth rm --help' for more information\n");
    const exact = await runBerth(['container', 'rename', 'a']);
    assert.equal(exact.stderr, "berth: 'berth container rename' requires 2 arguments\n\nUsage:  berth container rename CONTAINER NEW_NAME\n\nRun 'berth container rename --help' for more information\n");
    const none = await runBerth(['ps', 'extra']);
    assert.equal(none.stderr, "berth: 'berth ps' accepts no arguments\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information\n");
    const global = await runBerth(['--bogus', 'ps']);
    assert.equal(global.code, 125);
    assert.equal(global.stderr, "unknown flag: --bogus\n\nUsage:  berth [OPTIONS] COMMAND [ARG...]\n\nRun 'berth --help' for more information\n");
  });

  it('prints its version with -v', async () => {
    const r = await runBerth(['-v']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^berth version \d+\.\d+\.\d+/);
  });

  it('takes the host from -H over BERTH_HOST and DOCKER_HOST', async () => {
    const r = await runBerth(['-H', 'unix:///nonexistent/flag.sock', 'ps'], { env: { DOCKER_HOST: 'unix:///nonexistent/env.sock' } });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Cannot connect to the berth daemon at unix:///nonexistent/flag.sock. Is the berth daemon running?\n');
    const env = await runBerth(['ps'], { host: 'unix:///nonexistent/berth-env.sock' });
    assert.match(env.stderr, /unix:\/\/\/nonexistent\/berth-env\.sock/);
    const bad = await runBerth(['-H', 'ftp://x', 'ps']);
    assert.equal(bad.stderr, 'Failed to initialize: unable to resolve berth endpoint: invalid bind address format: ftp://x\n');
    const log = await runBerth(['--log-level', 'loud', 'ps']);
    assert.equal(log.stderr, 'Unable to parse logging level: loud\n');
  });
});

describe('starting berthd in the background', () => {
  it('spawns the daemon beside the CLI, waits for /_ping and says so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-autostart-'));
    const socket = join(dir, 'd.sock');
    const fake = join(dir, 'berthd');
    // A stand-in daemon: answers /_ping on the socket given as argument, then exits after a while.
    await writeFile(
      fake,
      `const http = require('node:http');
       const s = http.createServer((req, res) => res.end('OK')).listen(process.argv[2], () => console.log('listening'));
       setTimeout(() => s.close(), 3000).unref();`,
    );
    let said = '';
    const started = await startDaemonInBackground(socket, { write: (t: string) => (said += t) } as unknown as NodeJS.WritableStream, {
      berthd: fake,
      logPath: join(dir, 'log', 'berthd.log'),
      args: [socket],
    });
    assert.equal(started, true);
    assert.match(said, /^berth: started berthd in the background \(pid \d+, log .*\/log\/berthd\.log\)\n$/);
    assert.match(await readFile(join(dir, 'log', 'berthd.log'), 'utf8'), /listening/);
    // The daemon's log is root's alone, as is the directory made for it.
    assert.equal((await stat(join(dir, 'log', 'berthd.log'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'log'))).mode & 0o777, 0o700);
    const pid = Number(/pid (\d+)/.exec(said)![1]);
    process.kill(pid, 'SIGTERM');
    await rm(dir, { recursive: true, force: true });
  });

  it('gives up quickly when the daemon dies', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-autostart-'));
    const fake = join(dir, 'berthd');
    await writeFile(fake, 'process.exit(1);');
    const t0 = Date.now();
    // A log an older berth left world-readable is made private when it is opened again.
    await writeFile(join(dir, 'log'), 'old lines\n', { mode: 0o644 });
    const started = await startDaemonInBackground(join(dir, 'd.sock'), process.stderr, { berthd: fake, logPath: join(dir, 'log') });
    assert.equal(started, false);
    assert.equal((await stat(join(dir, 'log'))).mode & 0o777, 0o600);
    assert.ok(Date.now() - t0 < 3000);
    await rm(dir, { recursive: true, force: true });
  });
});
