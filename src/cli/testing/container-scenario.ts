import type { Duplex } from 'node:stream';
import { FakeEngine, frame, sendJson } from '../../client/testing/fake-engine.js';

// A scripted container behind the fake engine: create/attach/wait/start
// behave like berthd's, the "process" writes the given output once started
// (echoing attached stdin when asked) and exits with the given code.

export const CONTAINER_ID = 'c0ffee'.padEnd(64, '0');

export interface ScenarioOptions {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
  /** Echo everything written to the container's stdin to its stdout before exiting. */
  echoStdin?: boolean;
  tty?: boolean;
  /** Make POST /containers/create answer 404 for a missing image (once, or always). */
  missingImage?: 'once' | 'always';
  /** Make POST /containers/{id}/start fail with this message (and status 400). */
  startError?: string;
  /** The answer of POST /images/create (a pull): JSON lines. */
  pullMessages?: object[];
}

export interface Scenario {
  /** The order in which the CLI made its calls. */
  events: string[];
  createBody(): any;
}

export function scriptContainer(engine: FakeEngine, o: ScenarioOptions = {}): Scenario {
  const events: string[] = [];
  let attached: Duplex | undefined;
  let attachStdin = false;
  const waiters: Array<(code: number) => void> = [];
  let created = 0;
  let createBody: any;

  const exit = (code: number) => {
    events.push('exit');
    attached?.end();
    for (const w of waiters.splice(0)) w(code);
  };

  engine.on('POST', '/containers/create', (ctx) => {
    events.push('create');
    createBody = ctx.json();
    created++;
    if (o.missingImage === 'always' || (o.missingImage === 'once' && created === 1)) {
      sendJson(ctx.res, 404, { message: `No such image: ${createBody.Image}` });
      return;
    }
    sendJson(ctx.res, 201, { Id: CONTAINER_ID, Warnings: [] });
  });
  engine.on('POST', '/images/create', (ctx) => {
    events.push('pull');
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    for (const m of o.pullMessages ?? [{ status: 'Pulling from library/busybox', id: 'latest' }, { status: 'Status: Downloaded newer image for busybox:latest' }]) {
      ctx.res.write(JSON.stringify(m) + '\n');
    }
    ctx.res.end();
  });
  engine.onHijack('/containers/([^/]+)/attach', (socket, ctx) => {
    events.push('attach');
    attached = socket;
    attachStdin = ctx.query.get('stdin') === '1';
    socket.on('error', () => {});
  });
  engine.on('POST', '/containers/([^/]+)/wait', (ctx) => {
    events.push(`wait:${ctx.query.get('condition') ?? ''}`);
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    waiters.push((code) => ctx.res.end(JSON.stringify({ StatusCode: code, Error: null }) + '\n'));
  });
  engine.on('POST', '/containers/([^/]+)/start', (ctx) => {
    events.push('start');
    if (o.startError) {
      sendJson(ctx.res, 400, { message: o.startError });
      // Like berthd: a failed --rm container is removed, which ends a "removed" wait.
      if (createBody?.HostConfig?.AutoRemove) exit(o.exitCode ?? 0);
      return;
    }
    ctx.res.writeHead(204).end();
    const out = (stream: number, text: string) => attached?.write(o.tty ? Buffer.from(text) : frame(stream, text));
    setTimeout(() => {
      if (o.stdout) out(1, o.stdout);
      if (o.stderr) out(2, o.stderr);
      if (o.echoStdin && attached && attachStdin) {
        const chunks: Buffer[] = [];
        attached.on('data', (c: Buffer) => chunks.push(c));
        // The container's stdin reaches EOF when the client half-closes.
        attached.once('end', () => {
          out(1, Buffer.concat(chunks).toString('utf8'));
          exit(o.exitCode ?? 0);
        });
        return;
      }
      exit(o.exitCode ?? 0);
    }, 20);
  });
  engine.on('POST', '/containers/([^/]+)/kill', (ctx) => {
    events.push(`kill:${ctx.query.get('signal') ?? ''}`);
    ctx.res.writeHead(204).end();
  });
  engine.on('POST', '/containers/([^/]+)/resize', (ctx) => {
    ctx.res.writeHead(200).end();
  });
  return { events, createBody: () => createBody };
}
