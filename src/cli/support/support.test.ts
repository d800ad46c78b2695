import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compactJson, indentJson } from './json-indent.js';
import { displayablePorts } from './ports.js';
import { formatRfc3339NanoFixed, parseGoDuration, parseTimestamp } from './time.js';
import { memSwapBytes, parseCpus, ramInBytes } from './units.js';

describe('displayablePorts (docker ps PORTS column)', () => {
  it('shows published mappings, grouping consecutive ports', () => {
    assert.equal(displayablePorts([{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }]), '0.0.0.0:8080->80/tcp');
    assert.equal(
      displayablePorts([
        { PrivatePort: 81, Type: 'tcp' },
        { PrivatePort: 80, Type: 'tcp' },
        { PrivatePort: 53, Type: 'udp' },
      ]),
      '53/udp, 80-81/tcp',
    );
    assert.equal(displayablePorts([{ IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }]), '[::]:8080->80/tcp');
    assert.equal(
      displayablePorts([
        { IP: '0.0.0.0', PrivatePort: 9000, PublicPort: 9000, Type: 'tcp' },
        { IP: '0.0.0.0', PrivatePort: 9001, PublicPort: 9001, Type: 'tcp' },
      ]),
      '0.0.0.0:9000-9001->9000-9001/tcp',
    );
    assert.equal(displayablePorts([]), '');
  });
});

describe('time', () => {
  it('parses Go durations', () => {
    assert.equal(parseGoDuration('10m'), 600e9);
    assert.equal(parseGoDuration('1h30m'), 5400e9);
    assert.equal(parseGoDuration('1.5s'), 1.5e9);
    assert.equal(parseGoDuration('-2ms'), -2e6);
    assert.throws(() => parseGoDuration('5'), { message: 'time: missing unit in duration "5"' });
    assert.throws(() => parseGoDuration('5y'), { message: 'time: unknown unit "y" in duration "5y"' });
  });

  it('turns --since/--until values into Unix seconds like docker\'s GetTimestamp', () => {
    const now = new Date('2024-01-01T00:10:00Z');
    assert.equal(parseTimestamp('10m', now), String(Date.parse('2024-01-01T00:00:00Z') / 1000));
    assert.equal(parseTimestamp('2013-01-02T13:23:37Z', now), '1357133017.000000000');
    assert.equal(parseTimestamp('2013-01-02T13:23:37.5+01:00', now), '1357129417.500000000');
    assert.equal(parseTimestamp('1700000000', now), '1700000000');
    assert.equal(parseTimestamp('1700000000.123', now), '1700000000.123');
    assert.throws(() => parseTimestamp('yesterday', now), { message: 'failed to parse value as time or duration: "yesterday"' });
  });

  it('prints nanosecond timestamps in Go\'s fixed RFC 3339 layout', () => {
    // The offset is the local zone's; in UTC docker prints a Z.
    const text = formatRfc3339NanoFixed(1704067200123456789n);
    assert.match(text, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.123456789(Z|[+-]\d{2}:\d{2})$/);
    if (new Date(1704067200000).getTimezoneOffset() === 0) assert.equal(text, '2024-01-01T00:00:00.123456789Z');
  });
});

describe('units', () => {
  it('parses sizes and CPUs like docker', () => {
    assert.equal(ramInBytes('512m'), 536870912);
    assert.equal(ramInBytes('1g'), 1073741824);
    assert.equal(ramInBytes('100'), 100);
    assert.equal(ramInBytes('1.5k'), 1536);
    assert.throws(() => ramInBytes('x'), { message: "invalid size: 'x'" });
    assert.equal(memSwapBytes('-1'), -1);
    assert.equal(parseCpus('0.5'), 500_000_000);
  });
});

describe('json indent/compact (Go json.Indent)', () => {
  it('indents without reordering keys or touching strings', () => {
    const src = '{"Id":"a","Empty":{},"List":[],"Nested":{"b":1,"a":[1,2]},"S":"x, {y}: \\"z\\""}';
    assert.equal(
      indentJson(`[${src}]`),
      '[\n    {\n        "Id": "a",\n        "Empty": {},\n        "List": [],\n        "Nested": {\n            "b": 1,\n            "a": [\n                1,\n                2\n            ]\n        },\n        "S": "x, {y}: \\"z\\""\n    }\n]',
    );
    assert.equal(compactJson('[ {"a" : 1,\n "b": "x y"} ]'), '[{"a":1,"b":"x y"}]');
  });
});
