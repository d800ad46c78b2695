import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { humanSize } from './format/index.js';
import { displayJsonMessages, progressString } from './jsonmessage.js';

async function* lines(...messages: object[]): AsyncGenerator<Buffer> {
  for (const m of messages) yield Buffer.from(JSON.stringify(m) + '\n');
}

function sink(isTTY = false) {
  let text = '';
  return { write: (s: string) => (text += s), isTTY, columns: 120, get text() { return text; } };
}

describe('displayJsonMessages (docker jsonmessage)', () => {
  it('prints statuses with ids, and leaves progress bars out of non-terminals', async () => {
    const out = sink();
    await displayJsonMessages(
      lines(
        { status: 'Pulling from library/busybox', id: 'latest' },
        { status: 'Downloading', id: 'abc', progressDetail: { current: 10, total: 100 }, progress: '[=>   ]' },
        { status: 'Pull complete', id: 'abc' },
        { status: 'sha256:0123' },
      ),
      out,
    );
    assert.equal(out.text, 'latest: Pulling from library/busybox\nabc: Pull complete\nsha256:0123\n');
  });

  it('throws the stream\'s error after what came before', async () => {
    const out = sink();
    await assert.rejects(displayJsonMessages(lines({ status: 'Importing' }, { error: 'broken tar', errorDetail: { message: 'broken tar' } }), out), { message: 'broken tar' });
    assert.equal(out.text, 'Importing\n');
  });

  it('redraws progress lines in place on a terminal', async () => {
    const out = sink(true);
    await displayJsonMessages(lines({ status: 'Downloading', id: 'abc', progressDetail: { current: 500, total: 1000 } }), out);
    assert.equal(out.text, '\n\x1b[1A\x1b[2K\rabc: Downloading [=========================>                         ]     500B/1kB\r\x1b[1B');
  });

  it('hands aux messages to the callback', async () => {
    const seen: unknown[] = [];
    await displayJsonMessages(lines({ aux: { ID: 'sha256:x' } }), sink(), { onAux: (a) => seen.push(a) });
    assert.deepEqual(seen, [{ ID: 'sha256:x' }]);
  });
});

describe('progressString', () => {
  it('formats like JSONProgress.String', () => {
    assert.equal(progressString({ current: 1_200_000, total: 4_500_000 }, 80, humanSize), '   1.2MB/4.5MB');
    assert.equal(progressString({ current: 0, total: 0 }, 80, humanSize), '');
    assert.equal(progressString({ current: 3, total: 10, units: 'layers' }, 80, humanSize), '3/10 layers');
  });
});
