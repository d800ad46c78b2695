import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { boolParam, filtersParam, timestampParamNs } from './params.js';

describe('query parameters', () => {
  it('reads Docker booleans', () => {
    const q = new URLSearchParams('a=1&b=true&c=0&d=false&e=');
    assert.equal(boolParam(q, 'a'), true);
    assert.equal(boolParam(q, 'b'), true);
    assert.equal(boolParam(q, 'c'), false);
    assert.equal(boolParam(q, 'd'), false);
    assert.equal(boolParam(q, 'e'), false);
    assert.equal(boolParam(q, 'missing', true), true);
  });
  it('reads filters in both the list and the old map form, and rejects junk', () => {
    assert.deepEqual(filtersParam(new URLSearchParams({ filters: '{"status":["running","paused"]}' })), { status: ['running', 'paused'] });
    assert.deepEqual(filtersParam(new URLSearchParams({ filters: '{"label":{"a=b":true,"c":false}}' })), { label: ['a=b'] });
    assert.throws(() => filtersParam(new URLSearchParams({ filters: '{oops' })), /invalid filter/);
  });
  it('reads Unix and RFC 3339 timestamps as nanoseconds', () => {
    assert.equal(timestampParamNs(new URLSearchParams('since=1700000000.5'), 'since'), 1_700_000_000_500_000_000n);
    assert.equal(timestampParamNs(new URLSearchParams('since=1970-01-01T00:00:02Z'), 'since'), 2_000_000_000n);
    assert.equal(timestampParamNs(new URLSearchParams(''), 'since'), undefined);
  });
});
