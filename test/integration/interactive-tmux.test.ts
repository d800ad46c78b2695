import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { TestDaemon, BERTH, DOCKER, eventually } from '../helpers/daemon.js';

// The interactive path as a person uses it: tmux runs the docker CLI and
// berth against the test berthd in a real terminal; keys are typed with
// send-keys and the screen read with capture-pane. The window is resized
// (stty size inside follows), detached with ctrl-p ctrl-q and with custom
// --detach-keys, re-attached with attach, exec -it and start -ai. Each test
// has a tmux server of its own (-L), killed at the end.

const run = promisify(execFile);

class Terminal {
  constructor(readonly socketName: string) {}

  tmux(...args: string[]) {
    return run('tmux', ['-L', this.socketName, '-f', '/dev/null', ...args]);
  }

  static async open(name: string, env: Record<string, string>, width = 100, height = 30): Promise<Terminal> {
    const t = new Terminal(name);
    const envArgs = Object.entries({ PS1: 'host$ ', TERM: 'xterm', ...env }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    await t.tmux('new-session', '-d', '-s', 'main', '-x', String(width), '-y', String(height), ...envArgs, 'sh');
    await t.tmux('set-option', '-g', 'status', 'off');
    // dash as root ignores an inherited PS1; set it in the shell.
    await t.type("PS1='host$ '");
    await t.atHostPrompt();
    return t;
  }

  async screen(): Promise<string> {
    return (await this.tmux('capture-pane', '-p', '-J', '-t', 'main', '-S', '-200')).stdout;
  }

  /** Types text (literally) and presses Enter. */
  async type(text: string): Promise<void> {
    await this.tmux('send-keys', '-t', 'main', '-l', text);
    await this.tmux('send-keys', '-t', 'main', 'Enter');
  }

  /** Presses keys one after another, as a person does. */
  async keys(...keys: string[]): Promise<void> {
    for (const [i, k] of keys.entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      await this.tmux('send-keys', '-t', 'main', k);
    }
  }

  /** The screen's last line that is not blank (where the cursor's prompt is). */
  async lastLine(): Promise<string> {
    const lines = (await this.screen()).split('\n').filter((l) => l.trim() !== '');
    return lines[lines.length - 1] ?? '';
  }

  /** Waits for the host shell's prompt on the last line. */
  async atHostPrompt(timeoutMs = 15_000): Promise<void> {
    let last = '';
    try {
      await eventually(async () => /host\$ ?$/.test((last = await this.lastLine())), timeoutMs);
    } catch {
      throw new Error(`host prompt never came back; last line: ${JSON.stringify(last)}\n${await this.screen()}`);
    }
  }

  /** An empty screen and history, so that what is read next is new. */
  async clear(): Promise<void> {
    await this.tmux('send-keys', '-t', 'main', '-R');
    await this.tmux('clear-history', '-t', 'main');
  }

  async screenHas(re: RegExp, timeoutMs = 15_000): Promise<string> {
    let last = '';
    try {
      return await eventually(async () => {
        last = await this.screen();
        return re.test(last) ? last : undefined;
      }, timeoutMs);
    } catch {
      throw new Error(`screen never matched ${re}:\n${last}`);
    }
  }

  async resize(width: number, height: number): Promise<void> {
    await this.tmux('resize-window', '-t', 'main', '-x', String(width), '-y', String(height));
  }

  /** Ends this test's tmux server and removes its socket file (tmux leaves it behind). */
  async kill(): Promise<void> {
    await this.tmux('kill-server').catch(() => {});
    const dir = process.env.TMUX_TMPDIR || '/tmp';
    await rm(join(dir, `tmux-${process.getuid!()}`, this.socketName), { force: true });
  }
}

describe('interactive terminal through tmux', () => {
  let d: TestDaemon;
  const u = `${process.pid}`;
  const terminals: Terminal[] = [];
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
  });
  after(async () => {
    for (const t of terminals) await t.kill();
    await d?.stop();
  });

  async function session(kind: 'docker' | 'berth'): Promise<{ t: Terminal; cli: string }> {
    const t = await Terminal.open(`berth-it-${kind}-${u}`, {
      DOCKER_HOST: d.host, BERTH_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config'), HOME: d.dir,
    });
    terminals.push(t);
    const cli = kind === 'docker' ? DOCKER : `${process.execPath} ${BERTH}`;
    return { t, cli };
  }

  /** Once attached, Enter until the container's shell shows its prompt on the last line. */
  async function waitPrompt(t: Terminal): Promise<void> {
    await eventually(async () => {
      if (/^\/ # ?$/.test(await t.lastLine())) return true;
      await t.keys('Enter');
      await new Promise((r) => setTimeout(r, 300));
      return /^\/ # ?$/.test(await t.lastLine());
    }, 15_000);
  }

  const state = async (name: string) => (await d.docker(['inspect', '-f', '{{.State.Status}}', name])).stdout.trim();

  for (const kind of ['docker', 'berth'] as const) {
    it(`${kind}: run -it, resize, detach, attach, exec -it, --detach-keys, start -ai`, async () => {
      const { t, cli } = await session(kind);
      const name = `it-${kind}-${u}`;

      // run -it: a shell with a prompt, commands typed and answered.
      await t.type(`${cli} run -it --name ${name} busybox sh`);
      await t.screenHas(/^\/ # ?$/m);
      await t.type('echo sum-$((6*7))');
      await t.screenHas(/^sum-42$/m);
      await t.type('stty size');
      await t.screenHas(/^30 100$/m);

      // The window grows: the shell's terminal follows.
      await t.resize(120, 40);
      await t.clear();
      await t.type('stty size');
      await t.screenHas(/^40 120$/m);

      // ctrl-p ctrl-q: back at the host shell, the container still running.
      await t.keys('C-p', 'C-q');
      await t.atHostPrompt();
      assert.equal(await state(name), 'running');

      // attach: the same shell, its state kept.
      await t.clear();
      await t.type(`${cli} attach ${name}`);
      await waitPrompt(t);
      await t.type('echo back-$((2+3))');
      await t.screenHas(/^back-5$/m);
      await t.keys('C-p', 'C-q');
      await t.atHostPrompt();
      assert.match(await t.screen(), /read escape sequence/, 'attach says why it returned, as docker');

      // exec -it: a second shell in the same container, its size taken from the window.
      await t.type(`${cli} exec -it ${name} sh`);
      await t.screenHas(/^\/ # ?$/m);
      await t.type('stty size; echo exec-$((3*3))');
      await t.screenHas(/^40 120\nexec-9$/m);
      await t.type('exit 3');
      await t.atHostPrompt();
      await t.type('echo code=$?');
      await t.screenHas(/^code=3$/m);

      // --detach-keys: ctrl-x detaches, ctrl-p is an ordinary key.
      await t.clear();
      await t.type(`${cli} attach --detach-keys ctrl-x ${name}`);
      await waitPrompt(t);
      await t.type('echo custom-$((4+4))');
      await t.screenHas(/^custom-8$/m);
      await t.keys('C-x');
      await t.atHostPrompt();
      assert.equal(await state(name), 'running');

      // exit in the container stops it; start -ai brings the shell back.
      await t.clear();
      await t.type(`${cli} attach ${name}`);
      await waitPrompt(t);
      await t.type('exit 0');
      await eventually(async () => (await state(name)) === 'exited');
      await t.atHostPrompt();
      await t.clear();
      await t.type(`${cli} start -ai ${name}`);
      await t.screenHas(/^\/ # ?$/m);
      await t.type('echo again-$((5+5))');
      await t.screenHas(/^again-10$/m);
      // start -ai resizes the TTY once the container runs (as the docker CLI does), so it may land just after the prompt.
      await eventually(async () => {
        await t.type('stty size');
        await new Promise((r) => setTimeout(r, 200));
        return /^40 120$/m.test(await t.screen());
      });
      await t.type('exit 7');
      await t.atHostPrompt();
      await t.type('echo status=$?');
      await t.screenHas(/^status=7$/m);
      assert.equal(await state(name), 'exited');
      await d.docker(['rm', '-f', name]);
    });
  }
});
