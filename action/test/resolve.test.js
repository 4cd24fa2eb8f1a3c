'use strict';
// Binary resolution: the release download (checksum-verified, from a loopback server) and the
// fallback to building the action's source.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { test } = require('node:test');
const h = require('./helpers');

const SOURCE_VERSION = /^version\s*=\s*"([^"]+)"/m.exec(fs.readFileSync(path.join(h.ROOT, 'Cargo.toml'), 'utf8'))[1];
const ASSET = 'crlogin-x86_64-unknown-linux-musl';

// Serves `body` at /download/<ASSET> on 127.0.0.1 and counts the requests.
async function serve(t, body) {
  const server = http.createServer((req, res) => {
    server.requests.push(req.url);
    if (req.url !== `/download/${ASSET}`) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  server.requests = [];
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return server;
}

function writeManifest(job, server, sha256) {
  const file = path.join(job.dir, 'release.json');
  const manifest = {
    version: SOURCE_VERSION,
    base_url: `http://127.0.0.1:${server.address().port}/download/`,
    assets: { 'Linux-X64': ASSET },
    sha256: sha256 ? { [ASSET]: sha256 } : {},
  };
  fs.writeFileSync(file, JSON.stringify(manifest));
  return file;
}

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

test('download: an asset whose SHA-256 matches is saved, made executable and run', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const body = fs.readFileSync(h.builtBinary());
  const server = await serve(t, body);
  const manifest = writeManifest(job, server, sha256(body));
  const [user, secret, host] = [h.canary('user'), h.canary('download-password'), '127.0.0.1:5000'];

  // PATH has no crlogin (and no cargo): the download is the only way.
  const r = await h.runNode(
    h.MAIN,
    h.stepEnv(job, { username: user, password: secret, registry: host }, { CRLOGIN_ACTION_MANIFEST: manifest }),
  );
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.deepEqual(server.requests, [`/download/${ASSET}`]);
  const bin = h.parseFileCommands(job.read('GITHUB_STATE')).crlogin_bin;
  assert.ok(bin.startsWith(job.runnerTemp + path.sep), bin);
  assert.equal(fs.statSync(bin).mode & 0o777, 0o755);
  assert.match(r.stderr, /SHA-256 verified/);
  assert.equal(h.authEntry(h.homeAuthFiles(job).docker, host)?.auth, h.b64(`${user}:${secret}`));
  h.assertNoLeak({ stdout: r.stdout, stderr: r.stderr }, [secret, h.b64(`${user}:${secret}`)]);
});

test('download: an asset whose SHA-256 does not match is rejected and nothing runs', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const marker = path.join(job.dir, 'ran');
  const body = Buffer.from(`#!/bin/sh\ntouch '${marker}'\n`);
  const server = await serve(t, body);
  const manifest = writeManifest(job, server, sha256(Buffer.from('something else')));

  const r = await h.runNode(h.MAIN, h.stepEnv(job, {}, { CRLOGIN_ACTION_MANIFEST: manifest }));
  assert.equal(r.status, 1, r.stderr + r.stdout);
  assert.deepEqual(server.requests, [`/download/${ASSET}`]);
  assert.match(
    r.stdout,
    new RegExp(`^::error title=crlogin action::SHA-256 mismatch for http://127\\.0\\.0\\.1:\\d+/download/${ASSET}: expected [0-9a-f]{64}, got ${sha256(body)}\\. The download was discarded and nothing was run\\.$`, 'm'),
  );
  assert.ok(!fs.existsSync(marker), 'the rejected asset was run');
  assert.deepEqual(fs.readdirSync(job.runnerTemp), [], 'the rejected asset was saved');
  assert.equal(job.read('GITHUB_STATE'), '');
});

test('a manifest URL that is neither https nor loopback http is refused without a request', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const manifest = path.join(job.dir, 'release.json');
  fs.writeFileSync(
    manifest,
    JSON.stringify({ version: SOURCE_VERSION, base_url: 'http://example.invalid/', assets: { 'Linux-X64': ASSET }, sha256: { [ASSET]: '0'.repeat(64) } }),
  );
  const r = await h.runNode(h.MAIN, h.stepEnv(job, {}, { CRLOGIN_ACTION_MANIFEST: manifest }));
  assert.equal(r.status, 1);
  assert.match(r.stdout, /::error title=crlogin action::refusing to download http:\/\/example\.invalid\/crlogin-/);
});

test('no crlogin at the version on PATH and no checksum in the shipped manifest: builds the source', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const record = path.join(job.dir, 'cargo-args');
  h.writeTool(job, 'crlogin', `#!/bin/sh\necho 'crlogin 0.0.0-other'\n`);
  // A stand-in cargo that records its arguments and fails, so nothing is really built.
  h.writeTool(job, 'cargo', `#!/bin/sh\nprintf '%s\\n' "$@" > '${record}'\nexit 101\n`);

  const r = await h.runNode(h.MAIN, h.stepEnv(job));
  assert.equal(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stderr, /not using .*crlogin 0\.0\.0-other, not /);
  // The shipped manifest has no checksums until there is a release (or is for another version).
  assert.match(r.stderr, /not downloading: the release manifest (has no SHA-256 for crlogin-x86_64-unknown-linux-musl|is for )/);
  assert.deepEqual(fs.readFileSync(record, 'utf8').trim().split('\n'), [
    'build', '--release', '--locked',
    '--manifest-path', path.join(h.ROOT, 'Cargo.toml'),
    '--target-dir', path.join(h.ROOT, 'target'),
  ]);
  assert.match(r.stdout, /^::error title=crlogin action::cargo build failed \(exit 101\)$/m);
  assert.equal(job.read('GITHUB_STATE'), '');
});

test('a version that is neither on PATH, downloadable nor this source is a clear error', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const r = await h.runNode(h.MAIN, h.stepEnv(job, { version: '9.9.9' }));
  assert.equal(r.status, 1);
  assert.match(r.stdout, /::error title=crlogin action::crlogin 9\.9\.9 is not on PATH and cannot be downloaded, and this action's source is /);
});
