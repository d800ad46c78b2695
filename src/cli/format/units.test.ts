import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { bytesSize, ellipsis, humanDuration, humanSize, shortId } from './index.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const MONTH = 30 * DAY;
const YEAR = 365 * DAY;

describe('humanDuration (go-units HumanDuration test table)', () => {
  const cases: [number, string][] = [
    [450, 'Less than a second'],
    [-5 * SEC, 'Less than a second'],
    [1 * SEC, '1 second'],
    [45 * SEC, '45 seconds'],
    [59 * SEC, '59 seconds'],
    [60 * SEC, 'About a minute'],
    [3 * MIN, '3 minutes'],
    [35 * MIN + 40 * SEC, '35 minutes'],
    [59 * MIN, '59 minutes'],
    [1 * HOUR, 'About an hour'],
    [1 * HOUR + 29 * MIN, 'About an hour'],
    [1 * HOUR + 31 * MIN, '2 hours'],
    [3 * HOUR + 29 * MIN, '3 hours'],
    [3 * HOUR + 31 * MIN, '4 hours'],
    [24 * HOUR, '24 hours'],
    [1 * DAY + 12 * HOUR, '36 hours'],
    [2 * DAY, '2 days'],
    [7 * DAY, '7 days'],
    [13 * DAY + 5 * HOUR, '13 days'],
    [2 * WEEK, '2 weeks'],
    [2 * WEEK + 4 * DAY, '2 weeks'],
    [3 * WEEK, '3 weeks'],
    [4 * WEEK + 3 * DAY, '4 weeks'],
    [1 * MONTH, '4 weeks'],
    [1 * MONTH + 2 * WEEK, '6 weeks'],
    [2 * MONTH, '2 months'],
    [3 * MONTH + 1 * WEEK, '3 months'],
    [5 * MONTH + 2 * WEEK, '5 months'],
    [13 * MONTH, '13 months'],
    [23 * MONTH, '23 months'],
    [24 * MONTH, '24 months'],
    [24 * MONTH + 2 * WEEK, '2 years'],
    [3 * YEAR + 2 * MONTH, '3 years'],
  ];
  for (const [ms, want] of cases) it(`${ms}ms -> ${want}`, () => assert.equal(humanDuration(ms), want));
});

describe('humanSize (HumanSizeWithPrecision, decimal units)', () => {
  it('uses 3 significant digits like docker images/ps', () => {
    const cases: [number, string][] = [
      [0, '0B'],
      [999, '999B'],
      [1000, '1kB'],
      [1024, '1.02kB'],
      [1800, '1.8kB'],
      [4194304, '4.19MB'],
      [999999, '1e+03kB'],
      [123456789, '123MB'],
      [5.5e9, '5.5GB'],
      [1e30, '1e+06YB'],
      [-5, '-5B'],
    ];
    for (const [n, want] of cases) assert.equal(humanSize(n), want, String(n));
  });
  it('takes another precision (go-units HumanSize is precision 4)', () => {
    assert.equal(humanSize(1024, 4), '1.024kB');
    assert.equal(humanSize(1048576, 4), '1.049MB');
    assert.equal(humanSize(3.42e9, 4), '3.42GB');
    assert.equal(humanSize(1e28, 4), '1e+04YB');
  });
});

describe('bytesSize (go-units BytesSize, binary units)', () => {
  it('matches the go-units tests', () => {
    const KiB = 1024;
    const MiB = KiB * KiB;
    const GiB = MiB * KiB;
    const TiB = GiB * KiB;
    const PiB = TiB * KiB;
    assert.equal(bytesSize(1024), '1KiB');
    assert.equal(bytesSize(MiB), '1MiB');
    assert.equal(bytesSize(2 * MiB), '2MiB');
    assert.equal(bytesSize(3.42 * GiB), '3.42GiB');
    assert.equal(bytesSize(5.372 * TiB), '5.372TiB');
    assert.equal(bytesSize(2.22 * PiB), '2.22PiB');
    assert.equal(bytesSize(KiB ** 5 * PiB), '1.049e+06YiB');
    assert.equal(bytesSize(1.5 * MiB), '1.5MiB');
    assert.equal(bytesSize(1800), '1.758KiB');
  });
});

describe('shortId (stringid.TruncateID)', () => {
  it('strips the algorithm and keeps 12 characters', () => {
    assert.equal(shortId('sha256:4c01db0b339cf6b0b2b0c5e6a0d3e8f1a2b3c4d5e6f708192a3b4c5d6e7f8091'), '4c01db0b339c');
    assert.equal(shortId('4c01db0b339cf6b0'), '4c01db0b339c');
    assert.equal(shortId('abc'), 'abc');
    assert.equal(shortId(''), '');
  });
});

describe('ellipsis (formatter.Ellipsis test table)', () => {
  const cases: [string, number, string][] = [
    ['t🐳ststring', 0, ''],
    ['t🐳ststring', 1, 't'],
    ['t🐳ststring', 2, 't…'],
    ['t🐳ststring', 6, 't🐳st…'],
    ['t🐳ststring', 20, 't🐳ststring'],
    ['你好世界teststring', 0, ''],
    ['你好世界teststring', 1, '你'],
    ['你好世界teststring', 3, '你…'],
    ['你好世界teststring', 6, '你好…'],
    ['你好世界teststring', 20, '你好世界teststring'],
    ['"/bin/sh -c \'while true; do sleep 1; done\'"', 20, '"/bin/sh -c \'while …'],
    ['short', 20, 'short'],
  ];
  for (const [s, w, want] of cases) it(`${s} @${w}`, () => assert.equal(ellipsis(s, w), want));
});
