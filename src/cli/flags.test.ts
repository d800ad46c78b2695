import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, flagUsages, parseFlags, parseGoInt, wrapUsage, type FlagSpec } from './flags.js';

const SPECS: FlagSpec[] = [
  { name: 'detach', short: 'd', kind: 'bool', usage: 'Run in background' },
  { name: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open' },
  { name: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY' },
  { name: 'sig-proxy', kind: 'bool', usage: 'Proxy signals', default: true },
  { name: 'env', short: 'e', kind: 'list', usage: 'Set environment variables' },
  { name: 'publish', short: 'p', kind: 'list', usage: 'Publish ports' },
  { name: 'name', kind: 'string', usage: 'Name' },
  { name: 'last', short: 'n', kind: 'int', usage: 'Last n', default: -1 },
  { name: 'label', short: 'l', kind: 'map', usage: 'Labels' },
];

describe('parseFlags (pflag semantics)', () => {
  it('reads long, short, clustered and attached forms', () => {
    const p = parseFlags(SPECS, ['-it', '--name=web', '-e', 'A=1', '-eB=2', '--env', 'C=3', '-dp8080:80', '-n5', '-l', 'x=y']);
    assert.equal(p.values.interactive, true);
    assert.equal(p.values.tty, true);
    assert.equal(p.values.detach, true);
    assert.equal(p.values.name, 'web');
    assert.deepEqual(p.values.env, ['A=1', 'B=2', 'C=3']);
    assert.deepEqual(p.values.publish, ['8080:80']);
    assert.equal(p.values.last, 5);
    assert.deepEqual(p.values.label, { x: 'y' });
    assert.deepEqual([...p.changed].sort(), ['detach', 'env', 'interactive', 'label', 'last', 'name', 'publish', 'tty']);
  });

  it('keeps defaults for flags not given', () => {
    const p = parseFlags(SPECS, []);
    assert.equal(p.values.sigProxy, true);
    assert.equal(p.values.last, -1);
    assert.deepEqual(p.values.env, []);
    assert.equal(p.changed.size, 0);
  });

  it('takes explicit boolean values with =', () => {
    const p = parseFlags(SPECS, ['--sig-proxy=false', '-d=true', '--tty=0']);
    assert.equal(p.values.sigProxy, false);
    assert.equal(p.values.detach, true);
    assert.equal(p.values.tty, false);
  });

  it('stops at the first positional when not interspersed', () => {
    const p = parseFlags(SPECS, ['-d', 'busybox', 'ls', '-l', '--name', 'x'], { interspersed: false });
    assert.equal(p.values.detach, true);
    assert.equal(p.values.name, '');
    assert.deepEqual(p.args, ['busybox', 'ls', '-l', '--name', 'x']);
  });

  it('mixes flags and arguments when interspersed', () => {
    const p = parseFlags(SPECS, ['a', '-d', 'b', '--name', 'x', 'c']);
    assert.deepEqual(p.args, ['a', 'b', 'c']);
    assert.equal(p.values.detach, true);
  });

  it('ends flags at --, and takes - as an argument', () => {
    assert.deepEqual(parseFlags(SPECS, ['--', '-d', 'x']).args, ['-d', 'x']);
    assert.deepEqual(parseFlags(SPECS, ['-', '-d']).args, ['-']);
  });

  it('takes the next argument as a value even when it starts with a dash', () => {
    assert.equal(parseFlags(SPECS, ['-n', '-1']).values.last, -1);
    assert.equal(parseFlags(SPECS, ['--name', '-x']).values.name, '-x');
  });

  it('fails with pflag\'s messages', () => {
    const fails = (argv: string[], message: string) => assert.throws(() => parseFlags(SPECS, argv), (err: unknown) => err instanceof FlagError && err.message === message);
    fails(['--foo'], 'unknown flag: --foo');
    fails(['-z'], "unknown shorthand flag: 'z' in -z");
    fails(['-dz'], "unknown shorthand flag: 'z' in -dz");
    fails(['-n'], "flag needs an argument: 'n' in -n");
    fails(['--name'], 'flag needs an argument: --name');
    fails(['-n', 'x'], 'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax');
    fails(['--sig-proxy=maybe'], 'invalid argument "maybe" for "--sig-proxy" flag: strconv.ParseBool: parsing "maybe": invalid syntax');
  });

  it('reports validation errors of a flag\'s parser', () => {
    const specs: FlagSpec[] = [{ name: 'filter', short: 'f', kind: 'list', usage: '', parse: () => { throw new Error('bad format of filter (expected name=value)'); } }];
    assert.throws(() => parseFlags(specs, ['-f', 'x']), { message: 'invalid argument "x" for "-f, --filter" flag: bad format of filter (expected name=value)' });
  });

  it('knows --help, and -h unless a flag took it', () => {
    assert.equal(parseFlags(SPECS, ['--help']).values.help, true);
    const short = parseFlags(SPECS, ['-h']);
    assert.equal(short.values.help, true);
    assert.deepEqual(short.warnings, ['Flag shorthand -h has been deprecated, use --help']);
    const withHostname = parseFlags([{ name: 'hostname', short: 'h', kind: 'string', usage: '' }], ['-h', 'box']);
    assert.equal(withHostname.values.hostname, 'box');
    assert.equal(withHostname.values.help, false);
  });

  it('warns about deprecated flags and stores them under their key', () => {
    const specs: FlagSpec[] = [
      { name: 'timeout', short: 't', kind: 'int', usage: '' },
      { name: 'time', kind: 'int', usage: '', deprecated: 'use --timeout instead', key: 'timeout' },
    ];
    const p = parseFlags(specs, ['--time', '3']);
    assert.equal(p.values.timeout, 3);
    assert.deepEqual(p.warnings, ['Flag --time has been deprecated, use --timeout instead']);
  });
});

describe('parseGoInt', () => {
  it('accepts Go integer syntax', () => {
    assert.equal(parseGoInt('42'), 42);
    assert.equal(parseGoInt('-7'), -7);
    assert.equal(parseGoInt('0x10'), 16);
    assert.equal(parseGoInt('010'), 8);
    assert.throws(() => parseGoInt('1.5'), /invalid syntax/);
  });
});

describe('flagUsages (pflag help layout)', () => {
  it('aligns and sorts like docker stop --help', () => {
    const text = flagUsages(
      [
        { name: 'timeout', short: 't', kind: 'int', usage: 'Seconds to wait before killing the container' },
        { name: 'signal', short: 's', kind: 'string', usage: 'Signal to send to the container' },
        { name: 'time', kind: 'int', usage: 'x', deprecated: 'use --timeout instead' },
      ],
      79,
    );
    assert.equal(text, '  -s, --signal string   Signal to send to the container\n  -t, --timeout int     Seconds to wait before killing the container\n');
  });

  it('wraps long usages and shows defaults like docker logs --help', () => {
    const text = flagUsages(
      [
        { name: 'since', kind: 'string', usage: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
        { name: 'tail', short: 'n', kind: 'string', usage: 'Number of lines to show from the end of the logs', defaultText: '"all"' },
        { name: 'follow', short: 'f', kind: 'bool', usage: 'Follow log output' },
      ],
      79,
    );
    assert.equal(
      text,
      [
        '  -f, --follow         Follow log output',
        '      --since string   Show logs since timestamp (e.g.',
        '                       "2013-01-02T13:23:37Z") or relative (e.g. "42m"',
        '                       for 42 minutes)',
        '  -n, --tail string    Number of lines to show from the end of the logs',
        '                       (default "all")',
        '',
      ].join('\n'),
    );
  });

  it('keeps explicit line breaks in usages', () => {
    assert.equal(wrapUsage(10, 79, 'one\ntwo'), 'one\n          two');
  });
});
