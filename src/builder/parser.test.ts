import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, DockerfileParseError } from './parser.js';
import { parseStages, parseGoDuration, type CopyCmd, type RunCmd, type EnvCmd, type HealthcheckCmd } from './instructions.js';

function parseError(text: string): string {
  try {
    parseStages(text);
  } catch (err) {
    assert.ok(err instanceof DockerfileParseError, String(err));
    return err.message;
  }
  assert.fail('expected a parse error');
}

describe('Dockerfile parser', () => {
  it('joins continuation lines, drops comments inside them, keeps line numbers', () => {
    const p = parseDockerfile('FROM busybox\n# a comment\nRUN echo a \\\n    b \\\n# inner comment\n  c\nCMD ["sh"]\n');
    assert.equal(p.nodes.length, 3);
    const run = p.nodes[1]!;
    assert.equal(run.cmd, 'run');
    assert.equal(run.rest, 'echo a     b   c');
    assert.equal(run.startLine, 3);
    assert.equal(run.endLine, 6);
    assert.equal(p.nodes[2]!.startLine, 7);
  });

  it('warns about empty continuation lines and handles CRLF and a BOM', () => {
    const p = parseDockerfile('\ufeffFROM busybox\r\nRUN echo a \\\r\n\r\n b\r\n');
    assert.equal(p.nodes[1]!.rest, 'echo a  b');
    assert.equal(p.warnings.length, 1);
    assert.match(p.warnings[0]!, /Empty continuation line/);
  });

  it('honours the escape directive and only at the very top', () => {
    const p = parseDockerfile('# escape=`\nFROM busybox\nRUN echo a `\n b\nCOPY a\\b c\n');
    assert.equal(p.escape, '`');
    assert.equal(p.nodes[1]!.rest, 'echo a  b');
    assert.equal(p.nodes[2]!.rest, 'a\\b c');
    const late = parseDockerfile('FROM busybox\n# escape=`\nRUN echo `\n');
    assert.equal(late.escape, '\\');
    const afterBlank = parseDockerfile('\n# escape=`\nFROM busybox\n');
    assert.equal(afterBlank.escape, '\\');
    const spaced = parseDockerfile('  # ESCAPE = `\nFROM busybox\n');
    assert.equal(spaced.escape, '`');
  });

  it('reads the syntax directive and refuses a repeated or bad escape', () => {
    assert.equal(parseDockerfile('# syntax=docker/dockerfile:1\nFROM busybox\n').syntax, 'docker/dockerfile:1');
    assert.throws(() => parseDockerfile('# escape=`\n# escape=\\\nFROM x\n'), /only one escape parser directive can be used/);
    assert.throws(() => parseDockerfile('# escape=x\nFROM x\n'), /invalid escape token 'x' does not match ` or \\/);
    assert.equal(parseError('# escape=x\nFROM x\n'), "failed to parse Dockerfile: invalid escape token 'x' does not match ` or \\");
  });

  it('reads heredocs for RUN and COPY, quoted delimiters keep the body raw, <<- strips tabs', () => {
    const p = parseDockerfile([
      'FROM busybox',
      'RUN <<EOF',
      'echo $HOME',
      '# not a comment here',
      'EOF',
      'COPY <<-"END" /x',
      '\tline $A',
      '\tEND',
      'RUN cat <<A <<B',
      'a',
      'A',
      'b',
      'B',
      'CMD ["sh"]',
    ].join('\n'));
    assert.equal(p.nodes.length, 5);
    assert.deepEqual(p.nodes[1]!.heredocs, [{ name: 'EOF', content: 'echo $HOME\n# not a comment here\n', expand: true, chomp: false }]);
    assert.deepEqual(p.nodes[2]!.heredocs, [{ name: 'END', content: 'line $A\n', expand: false, chomp: true }]);
    assert.deepEqual(p.nodes[3]!.heredocs.map((h) => h.content), ['a\n', 'b\n']);
    assert.equal(p.nodes[4]!.startLine, 14);
    assert.throws(() => parseDockerfile('FROM x\nRUN <<EOF\necho\n'), /dockerfile parse error line 2: unterminated heredoc/);
  });

  it('no heredoc in exec form', () => {
    const p = parseDockerfile('FROM x\nRUN ["cat", "<<EOF"]\nCMD x\n');
    assert.equal(p.nodes.length, 3);
    assert.deepEqual(p.nodes[1]!.heredocs, []);
  });

  it('splits flags from arguments', () => {
    const p = parseDockerfile('FROM x\nCOPY --from=build --chown=1:2 --chmod=644 a b\nRUN --mount=type=cache,target=/c --network=none echo hi\n');
    assert.deepEqual(p.nodes[1]!.flags, ['--from=build', '--chown=1:2', '--chmod=644']);
    assert.equal(p.nodes[1]!.rest, 'a b');
    assert.deepEqual(p.nodes[2]!.flags, ['--mount=type=cache,target=/c', '--network=none']);
  });
});

describe('Dockerfile instructions', () => {
  it('unknown instructions fail with the line, in dockerd 20.10\'s words', () => {
    assert.equal(parseError('FROM busybox\n\n\n\n\n\nRUNN echo\n'), 'dockerfile parse error line 7: unknown instruction: RUNN');
    assert.equal(parseError('FROM busybox\nfoobarbaz x\n'), 'dockerfile parse error line 2: unknown instruction: FOOBARBAZ');
  });

  it('only ARG before the first FROM; empty and FROM-less files are refused', () => {
    assert.equal(parseError('ARG A=1\nRUN x\nFROM busybox\n'), 'no build stage in current context');
    assert.match(parseError('# just a comment\n\n'), /cannot be empty/);
    assert.match(parseError('ARG A\n'), /no stages to build/);
  });

  it('FROM with AS, --platform and bad forms', () => {
    const df = parseStages('ARG V=1\nFROM --platform=linux/amd64 busybox:$V AS Build\nRUN x\nfrom build\n');
    assert.equal(df.metaArgs.length, 1);
    assert.equal(df.stages[0]!.name, 'build');
    assert.equal(df.stages[0]!.from.platform, 'linux/amd64');
    assert.equal(df.stages[0]!.from.image, 'busybox:$V');
    assert.equal(df.stages[1]!.from.image, 'build');
    assert.match(parseError('FROM a b\n'), /line 1: FROM requires either one or three arguments/);
    assert.match(parseError('FROM a AS 1x\n'), /invalid name for build stage/);
    assert.match(parseError('FROM --plat=x a\n'), /^dockerfile parse error line 1: Unknown flag: plat$/);
  });

  it('exec and shell forms; non-string JSON arrays are an error, other JSON falls back to shell', () => {
    const df = parseStages('FROM x\nRUN ["echo", "hi"]\nRUN echo hi\nCMD ["a" "b"]\nENTRYPOINT [\'a\']\n');
    const c = df.stages[0]!.commands;
    assert.deepEqual((c[0] as RunCmd).cmd, { json: true, args: ['echo', 'hi'] });
    assert.deepEqual((c[1] as RunCmd).cmd, { json: false, text: 'echo hi' });
    assert.deepEqual((c[2] as RunCmd).cmd, { json: false, text: '["a" "b"]' });
    assert.deepEqual((c[3] as RunCmd).cmd, { json: false, text: "['a']" });
    // The line parser's errors name the file, not the line, as dockerd 20.10's do.
    assert.equal(parseError('FROM x\nCMD ["a", 1]\n'), 'failed to parse Dockerfile: when using JSON array syntax, arrays must be comprised of strings only');
    assert.equal(parseError('FROM x\nVOLUME ["a", 1]\n'), 'failed to parse Dockerfile: when using JSON array syntax, arrays must be comprised of strings only');
    assert.match(parseError('FROM x\nSHELL /bin/bash -c\n'), /SHELL requires the arguments to be in JSON form/);
  });

  it('ENV and LABEL: pairs with quotes, the legacy form, errors', () => {
    const df = parseStages('FROM x\nENV A=1 B="two words" C=a\\ b\nENV LEGACY some value here\nLABEL "com.x"="y z"\n');
    const c = df.stages[0]!.commands;
    assert.deepEqual((c[0] as EnvCmd).pairs, [{ key: 'A', value: '1' }, { key: 'B', value: '"two words"' }, { key: 'C', value: 'a\\ b' }]);
    assert.deepEqual((c[1] as EnvCmd).pairs, [{ key: 'LEGACY', value: 'some value here' }]);
    assert.deepEqual((c[2] as EnvCmd).pairs, [{ key: '"com.x"', value: '"y z"' }]);
    assert.equal(parseError('FROM x\nENV A\n'), 'failed to parse Dockerfile: ENV must have two arguments');
    assert.equal(parseError('FROM x\nLABEL a\n'), 'failed to parse Dockerfile: LABEL must have two arguments');
    assert.equal(parseError('FROM x\nENV A=1 B\n'), 'failed to parse Dockerfile: Syntax error - can\'t find = in "B". Must be of the form: name=value');
    assert.equal(parseError('FROM x\nENV =1\n'), 'dockerfile parse error line 2: ENV names can not be blank');
  });

  it('COPY/ADD flags, JSON form, heredocs, argument count', () => {
    const df = parseStages('FROM x\nCOPY --from=0 --chown=u:g --chmod=755 --link a b /d/\nCOPY ["a b", "/c d"]\nADD --checksum=sha256:00 http://127.0.0.1/x /y\nCOPY <<EOF /f\nhi\nEOF\n');
    const [a, b, c, d] = df.stages[0]!.commands as CopyCmd[];
    assert.deepEqual([a!.from, a!.chown, a!.chmod, a!.link, a!.sources, a!.dest], ['0', 'u:g', '755', true, ['a', 'b'], '/d/']);
    assert.deepEqual([b!.json, b!.sources, b!.dest], [true, ['a b'], '/c d']);
    assert.equal(c!.checksum, 'sha256:00');
    assert.equal(d!.heredocs[0]!.content, 'hi\n');
    assert.match(parseError('FROM x\nCOPY a\n'), /COPY requires at least two arguments, but only one was provided/);
    assert.match(parseError('FROM x\nCOPY --chmod=9z a b\n'), /invalid chmod parameter: '9z'/);
    assert.match(parseError('FROM x\nCOPY --from=$X a b\n'), /variable expansion is not supported for --from/);
    assert.match(parseError('FROM x\nCOPY --froom=a a b\n'), /Unknown flag: froom/);
    assert.match(parseError('FROM x\nCOPY --from=a --from=b a b\n'), /Duplicate flag specified: from/);
  });

  it('HEALTHCHECK: NONE, CMD forms and durations', () => {
    const df = parseStages('FROM x\nHEALTHCHECK --interval=5s --timeout=1m30s --retries=3 CMD curl -f http://localhost/\nHEALTHCHECK NONE\nHEALTHCHECK CMD ["true"]\n');
    const [a, b, c] = df.stages[0]!.commands as HealthcheckCmd[];
    assert.deepEqual(a!.test, ['CMD-SHELL', 'curl -f http://localhost/']);
    assert.equal(a!.interval, 5e9);
    assert.equal(a!.timeout, 90e9);
    assert.equal(a!.retries, 3);
    assert.deepEqual(b!.test, ['NONE']);
    assert.deepEqual(c!.test, ['CMD', 'true']);
    assert.match(parseError('FROM x\nHEALTHCHECK BOGUS x\n'), /Unknown type "BOGUS" in HEALTHCHECK/);
    // dockerd 20.10's limits: a duration given is at least 1ms (0 too is refused), retries at least 1.
    assert.equal(parseError('FROM x\nHEALTHCHECK --interval=0s CMD x\n'), 'dockerfile parse error line 2: Interval "interval" cannot be less than 1ms');
    assert.equal(parseError('FROM x\nHEALTHCHECK --retries=0 CMD x\n'), 'dockerfile parse error line 2: --retries must be at least 1 (not 0)');
    assert.equal(parseError('FROM x\nHEALTHCHECK --retries=x CMD x\n'), 'dockerfile parse error line 2: strconv.ParseInt: parsing "x": invalid syntax');
    assert.equal(parseGoDuration('1h2m3.5s'), 3723.5e9);
    assert.equal(parseGoDuration('abc'), undefined);
  });

  it('ONBUILD: triggers are checked, chaining and FROM refused', () => {
    const df = parseStages('FROM x\nONBUILD RUN echo hi\n');
    assert.equal(df.stages[0]!.commands[0]!.kind, 'onbuild');
    assert.match(parseError('FROM x\nONBUILD ONBUILD RUN x\n'), /Chaining ONBUILD/);
    assert.match(parseError('FROM x\nONBUILD FROM y\n'), /FROM isn't allowed as an ONBUILD trigger/);
    // Like dockerd, a trigger is parsed where it runs, not where it is declared; kept as written.
    const kept = parseStages('FROM x\nonbuild   run echo lower\nONBUILD RUNN y\n').stages[0]!.commands as Array<{ expression: string }>;
    assert.deepEqual(kept.map((c) => c.expression), ['run echo lower', 'RUNN y']);
  });

  it('requires arguments where Docker does', () => {
    assert.match(parseError('FROM x\nWORKDIR\n'), /WORKDIR requires exactly one argument/);
    assert.match(parseError('FROM x\nEXPOSE\n'), /EXPOSE requires at least one argument/);
    assert.match(parseError('FROM x\nRUN\n'), /RUN requires at least one argument/);
    assert.match(parseError('FROM x\nRUN --network=bogus x\n'), /unsupported network mode/);
  });
});
