import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameterError } from '../errors/index.js';
import { applyChanges, parseGoDuration, parseWords, processWord, processWords, splitInstructions } from './changes.js';

const env = (o: Record<string, string>) => new Map(Object.entries(o));

describe('image config changes', () => {
  it('CMD and ENTRYPOINT in JSON and shell form', () => {
    assert.deepEqual(applyChanges({}, ['CMD ["sh", "-c", "echo hi"]']).Cmd, ['sh', '-c', 'echo hi']);
    assert.deepEqual(applyChanges({}, ['CMD echo "hi there"']).Cmd, ['/bin/sh', '-c', 'echo "hi there"']);
    assert.deepEqual(applyChanges({}, ['cmd [not json']).Cmd, ['/bin/sh', '-c', '[not json']);
    assert.deepEqual(applyChanges({ Shell: ['/bin/bash', '-c'] }, ['CMD ls']).Cmd, ['/bin/bash', '-c', 'ls']);
    const ep = applyChanges({ Cmd: ['old'] }, ['ENTRYPOINT ["/init"]']);
    assert.deepEqual(ep.Entrypoint, ['/init']);
    assert.equal(ep.Cmd, null, 'a new entrypoint drops the inherited CMD');
    const both = applyChanges({ Cmd: ['old'] }, ['CMD ["a"]', 'ENTRYPOINT /init --x']);
    assert.deepEqual(both.Cmd, ['a']);
    assert.deepEqual(both.Entrypoint, ['/bin/sh', '-c', '/init --x']);
  });

  it('ENV in both forms, with substitution', () => {
    const c = applyChanges({ Env: ['PATH=/bin', 'A=1'] }, ['ENV A=2 B="two words" C=${A}x', 'ENV LEGACY hello   world', 'ENV PATH=$PATH:/opt/bin D=${UNSET:-dflt}']);
    // Substitution sees the values from before the instruction, as Docker documents.
    assert.deepEqual(c.Env, ['PATH=/bin:/opt/bin', 'A=2', 'B=two words', 'C=1x', 'LEGACY=hello   world', 'D=dflt']);
    assert.throws(() => applyChanges({}, ['ENV A=1 B']), /can't find = in "B"/);
    assert.throws(() => applyChanges({}, ['ENV']), InvalidParameterError);
  });

  it('LABEL, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL, ONBUILD, HEALTHCHECK', () => {
    const c = applyChanges({ WorkingDir: '/app' }, [
      'LABEL a=b "with space"="v v" c=\'$NOPE\'',
      'WORKDIR sub',
      'WORKDIR ../other/./x',
      'USER 1000:1000',
      'EXPOSE 80 443/udp 8000-8001/tcp',
      'VOLUME /data /logs',
      'VOLUME ["/json"]',
      'STOPSIGNAL SIGINT',
      'ONBUILD RUN echo built',
      'HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://localhost/',
    ]);
    assert.deepEqual(c.Labels, { a: 'b', 'with space': 'v v', c: '$NOPE' });
    assert.equal(c.WorkingDir, '/app/other/x');
    assert.equal(c.User, '1000:1000');
    assert.deepEqual(Object.keys(c.ExposedPorts!).sort(), ['443/udp', '80/tcp', '8000/tcp', '8001/tcp']);
    assert.deepEqual(Object.keys(c.Volumes!).sort(), ['/data', '/json', '/logs']);
    assert.equal(c.StopSignal, 'SIGINT');
    assert.deepEqual(c.OnBuild, ['RUN echo built']);
    assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'curl -f http://localhost/'], Interval: 5e9, Retries: 3 });
    assert.deepEqual(applyChanges({}, ['HEALTHCHECK NONE']).Healthcheck, { Test: ['NONE'] });
    assert.deepEqual(applyChanges({}, ['HEALTHCHECK CMD ["true"]']).Healthcheck, { Test: ['CMD', 'true'] });
    assert.equal(applyChanges({}, ['STOPSIGNAL 9']).StopSignal, '9');
    assert.equal(applyChanges({}, ['STOPSIGNAL RTMIN+3']).StopSignal, 'RTMIN+3');
  });

  it('joins continuation lines and skips comments', () => {
    assert.deepEqual(splitInstructions('# c\nENV A=1 \\\n  B=2\n\nCMD x'), ['ENV A=1   B=2', 'CMD x']);
    assert.deepEqual(applyChanges({}, ['ENV A=1 \\', 'B=2']).Env, ['A=1', 'B=2']);
  });

  it('refuses what Docker refuses', () => {
    const refuse = (change: string, msg: RegExp) =>
      assert.throws(() => applyChanges({}, [change]), (err: Error) => err instanceof InvalidParameterError && msg.test(err.message), change);
    refuse('ADD a b', /^add is not a valid change command$/);
    refuse('RUN true', /^run is not a valid change command$/);
    refuse('FROM busybox', /^from is not a valid change command$/);
    refuse('SHELL ["/bin/bash"]', /not a valid change command/);
    refuse('STOPSIGNAL SIGNOPE', /Invalid signal: SIGNOPE/);
    refuse('EXPOSE 80/xyz', /invalid proto/);
    refuse('EXPOSE 90-80', /invalid range/);
    refuse('EXPOSE abc', /invalid containerPort/);
    refuse('ONBUILD FROM x', /isn't allowed as an ONBUILD trigger/);
    refuse('ONBUILD ONBUILD RUN x', /Chaining ONBUILD/);
    refuse('CMD --foo x', /unknown flag: foo/);
    refuse('HEALTHCHECK --interval=1us CMD x', /cannot be less than 1ms/);
    refuse('HEALTHCHECK RUN x', /Unknown type "RUN"/);
    refuse('WORKDIR', /WORKDIR requires exactly one argument/);
    refuse('VOLUME [""]', /can not be an empty string/);
    // Nothing is applied when one line is bad.
    assert.throws(() => applyChanges({}, ['CMD ["ok"]', 'COPY a b']), /copy is not a valid change command/);
  });

  it('shell words: quotes, escapes and substitutions', () => {
    const e = env({ A: 'x y', EMPTY: '' });
    assert.equal(processWord('"$A"', e), 'x y');
    assert.equal(processWord("'$A'", e), '$A');
    assert.equal(processWord('\\$A', e), '$A');
    assert.equal(processWord('${EMPTY:-d}|${EMPTY-d}|${A:+set}|${NONE:+set}', e), 'd||set|');
    assert.deepEqual(processWords('$A "q r" s', e), ['x', 'y', 'q r', 's']);
    assert.throws(() => processWord('${NONE:?must be set}', e), /NONE: must be set/);
    assert.deepEqual(parseWords('a="b c" d=\'e\' f\\ g'), ['a="b c"', "d='e'", 'f\\ g']);
  });

  it('parses Go durations', () => {
    assert.equal(parseGoDuration('1m30s'), 90e9);
    assert.equal(parseGoDuration('1.5h'), 5400e9);
    assert.equal(parseGoDuration('250ms'), 250e6);
    assert.throws(() => parseGoDuration('5'), InvalidParameterError);
    assert.throws(() => parseGoDuration('s'), InvalidParameterError);
  });
});
