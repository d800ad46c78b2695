import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { startBerthRegistry, type TestRegistry } from '../helpers/registry.js';

// berth's registry server on the points the OCI distribution-spec
// conformance suite checks and berth once got wrong (see docs/registry-conformance.md):
// a malformed manifest reference is a 404 to read, a refused chunk keeps the
// connection usable, a closing PUT with an out-of-order chunk is a 416, and
// the referrers API with its artifactType filter.

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  reusedSocket: boolean;
}

/** One request over the given agent; resolves with the whole response. */
function call(agent: Agent, host: string, method: string, path: string, opts: { body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const [hostname, port] = host.split(':');
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
    const req = request({ agent, hostname, port: Number(port), method, path, headers: { ...(body ? { 'Content-Length': String(body.length) } : {}), ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), reusedSocket: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const errorCode = (r: Res) => (JSON.parse(r.body.toString('utf8')) as { errors: Array<{ code: string }> }).errors[0]!.code;

describe("berth's registry server: the conformance suite's corners", () => {
  let reg: TestRegistry;
  // One socket for everything: a response that lies about its length would
  // corrupt the next one on the same connection.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const repo = `conf/r${process.pid}`;

  async function putBlob(data: Buffer | string): Promise<string> {
    const digest = sha256(data);
    const r = await call(agent, reg.host, 'POST', `/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(r.status, 201, r.body.toString());
    return digest;
  }

  async function putManifest(ref: string, doc: unknown): Promise<Res> {
    return call(agent, reg.host, 'PUT', `/v2/${repo}/manifests/${ref}`, { body: JSON.stringify(doc), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
  }

  before(async () => {
    reg = await startBerthRegistry();
  });
  after(async () => {
    agent.destroy();
    await reg?.stop();
  });

  it('a manifest reference that is neither tag nor digest is a 404 to GET, HEAD and DELETE, a 400 to PUT', async () => {
    const config = await putBlob('{}');
    const pushed = await putManifest('v1', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 2 }, layers: [] });
    assert.equal(pushed.status, 201);
    for (const ref of ['.INVALID_MANIFEST_NAME', '-leading-dash', 'sha256:nothex']) {
      const get = await call(agent, reg.host, 'GET', `/v2/${repo}/manifests/${encodeURIComponent(ref)}`);
      assert.equal(get.status, 404, ref);
      assert.equal(errorCode(get), 'MANIFEST_UNKNOWN');
      assert.equal((await call(agent, reg.host, 'HEAD', `/v2/${repo}/manifests/${encodeURIComponent(ref)}`)).status, 404, ref);
      const del = await call(agent, reg.host, 'DELETE', `/v2/${repo}/manifests/${encodeURIComponent(ref)}`);
      assert.equal(del.status, 404, ref);
      assert.equal(errorCode(del), 'MANIFEST_UNKNOWN');
    }
    const badPut = await putManifest('.INVALID_MANIFEST_NAME', { schemaVersion: 2, config: { digest: config, size: 2 }, layers: [] });
    assert.equal(badPut.status, 400);
    assert.equal(errorCode(badPut), 'MANIFEST_INVALID');
    // A repository nobody pushed to stays NAME_UNKNOWN whatever the reference.
    const other = await call(agent, reg.host, 'GET', `/v2/conf/never-pushed-${process.pid}/manifests/.bad`);
    assert.equal(other.status, 404);
    assert.equal(errorCode(other), 'NAME_UNKNOWN');
    // The tag itself is untouched.
    assert.equal((await call(agent, reg.host, 'HEAD', `/v2/${repo}/manifests/v1`)).status, 200);
  });

  it('an out-of-order chunk is a 416 with the upload state, and the same connection carries on', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const start = await call(agent, reg.host, 'POST', `/v2/${repo}/blobs/uploads/`);
    assert.equal(start.status, 202);
    const loc = start.headers.location!;
    const first = await call(agent, reg.host, 'PATCH', loc, { body: data.subarray(0, 10), headers: { 'Content-Range': '0-9', 'Content-Type': 'application/octet-stream' } });
    assert.equal(first.status, 202);
    assert.equal(first.headers.range, '0-9');
    // The first chunk again (a retry), then one past the end: both refused.
    for (const range of ['0-9', '15-19']) {
      const refused = await call(agent, reg.host, 'PATCH', loc, { body: data.subarray(10), headers: { 'Content-Range': range, 'Content-Type': 'application/octet-stream' } });
      assert.equal(refused.status, 416, range);
      assert.equal(refused.headers.range, '0-9');
      assert.equal(refused.headers.location, loc);
      assert.equal(Number(refused.headers['content-length']), refused.body.length, 'the length header tells the truth');
      assert.equal(errorCode(refused), 'BLOB_UPLOAD_INVALID');
    }
    // Next request on the kept-alive socket: a clean 204, not bytes left over from the 416.
    const status = await call(agent, reg.host, 'GET', loc);
    assert.equal(status.reusedSocket, true, 'the agent reused its one connection');
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, '0-9');
    const digest = sha256(data);
    const done = await call(agent, reg.host, 'PUT', `${loc}?digest=${encodeURIComponent(digest)}`, { body: data.subarray(10), headers: { 'Content-Range': '10-19', 'Content-Type': 'application/octet-stream' } });
    assert.equal(done.status, 201, done.body.toString());
    const blob = await call(agent, reg.host, 'GET', `/v2/${repo}/blobs/${digest}`);
    assert.equal(blob.status, 200);
    assert.deepEqual(blob.body, data);
  });

  it('a closing PUT whose chunk is out of order is a 416 and leaves the upload to resume', async () => {
    const data = Buffer.from('closing-put-chunk-data');
    const digest = sha256(data);
    const start = await call(agent, reg.host, 'POST', `/v2/${repo}/blobs/uploads/`);
    const loc = start.headers.location!;
    assert.equal((await call(agent, reg.host, 'PATCH', loc, { body: data.subarray(0, 8), headers: { 'Content-Range': '0-7' } })).status, 202);
    const wrong = await call(agent, reg.host, 'PUT', `${loc}?digest=${encodeURIComponent(digest)}`, { body: data.subarray(8), headers: { 'Content-Range': `4-${data.length - 5}`, 'Content-Type': 'application/octet-stream' } });
    assert.equal(wrong.status, 416);
    assert.equal(wrong.headers.range, '0-7');
    assert.equal((await call(agent, reg.host, 'HEAD', `/v2/${repo}/blobs/${digest}`)).status, 404, 'nothing committed');
    const status = await call(agent, reg.host, 'GET', loc);
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, '0-7');
    const right = await call(agent, reg.host, 'PUT', `${loc}?digest=${encodeURIComponent(digest)}`, { body: data.subarray(8), headers: { 'Content-Range': `8-${data.length - 1}`, 'Content-Type': 'application/octet-stream' } });
    assert.equal(right.status, 201, right.body.toString());
    assert.equal(right.headers['docker-content-digest'], digest);
  });

  it('referrers: OCI-Subject on push, the list as an OCI index, the artifactType filter, an unknown subject is an empty list', async () => {
    const configText = '{"architecture":"amd64","os":"linux"}';
    const config = await putBlob(configText);
    const subjectBytes = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: configText.length }, layers: [] });
    const subject = sha256(subjectBytes);
    assert.equal((await call(agent, reg.host, 'PUT', `/v2/${repo}/manifests/base`, { body: subjectBytes, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } })).status, 201);
    const empty = await putBlob('{}');
    const refs: Record<string, string> = {};
    for (const [name, artifactType] of [['sig', 'application/vnd.example.signature'], ['sbom', 'application/vnd.example.sbom'], ['sig2', 'application/vnd.example.signature']] as const) {
      const doc = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType, config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 }, layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 }], subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject, size: subjectBytes.length }, annotations: { name } };
      const r = await call(agent, reg.host, 'PUT', `/v2/${repo}/manifests/${sha256(JSON.stringify(doc))}`, { body: JSON.stringify(doc), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(r.status, 201, r.body.toString());
      assert.equal(r.headers['oci-subject'], subject);
      refs[name] = r.headers['docker-content-digest'] as string;
    }
    type Index = { schemaVersion: number; mediaType: string; manifests: Array<{ digest: string; artifactType?: string; size: number; annotations?: Record<string, string> }> };
    const all = await call(agent, reg.host, 'GET', `/v2/${repo}/referrers/${subject}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers['content-type'], 'application/vnd.oci.image.index.v1+json');
    const index = JSON.parse(all.body.toString()) as Index;
    assert.equal(index.schemaVersion, 2);
    assert.deepEqual(index.manifests.map((m) => m.digest).sort(), Object.values(refs).sort());
    assert.deepEqual(index.manifests.find((m) => m.digest === refs.sbom), { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: refs.sbom, size: index.manifests.find((m) => m.digest === refs.sbom)!.size, artifactType: 'application/vnd.example.sbom', annotations: { name: 'sbom' } });
    assert.equal(all.headers['oci-filters-applied'], undefined);
    const filtered = await call(agent, reg.host, 'GET', `/v2/${repo}/referrers/${subject}?artifactType=${encodeURIComponent('application/vnd.example.signature')}`);
    assert.equal(filtered.status, 200);
    assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual((JSON.parse(filtered.body.toString()) as Index).manifests.map((m) => m.digest).sort(), [refs.sig, refs.sig2].sort());
    const none = await call(agent, reg.host, 'GET', `/v2/${repo}/referrers/${sha256('no such subject')}`);
    assert.equal(none.status, 200);
    assert.deepEqual((JSON.parse(none.body.toString()) as Index).manifests, []);
    // Deleting a referrer takes it off the list.
    assert.equal((await call(agent, reg.host, 'DELETE', `/v2/${repo}/manifests/${refs.sbom}`)).status, 202);
    const after = JSON.parse((await call(agent, reg.host, 'GET', `/v2/${repo}/referrers/${subject}`)).body.toString()) as Index;
    assert.deepEqual(after.manifests.map((m) => m.digest).sort(), [refs.sig, refs.sig2].sort());
  });
});
