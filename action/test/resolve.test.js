'use strict';
// Binary resolution: the release download (a release directory made by
// tests/release/make-release.sh, served from a loopback server), the runner's tool cache, a
// crlogin already on PATH, and building from source only when asked. PATH never has cargo.

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { test } = require('node:test');
const h = require('./helpers');

const SOURCE_VERSION = /^version\s*=\s*"([^"]+)"/m.exec(fs.readFileSync(path.join(h.ROOT, 'Cargo.toml'), 'utf8'))[1];
const ASSET = 'crlogin-x86_64-unknown-linux-musl';
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

// A loopback "release": serves `dir` under /download/, after `faults[file]` (a list of statuses
// answered first, or 'drop' to close the connection), and records every request.
async function serveRelease(t, faults = {}) {
  const dir = fs.mkdtempSync(path.join(h.ROOT, 'target', 'tmp-release-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const server = http.createServer((req, res) => {
    server.requests.push(req.url);
    const name = decodeURIComponent(req.url.replace(/^\/download\//, ''));
    const fault = (faults[name] || []).shift();
    if (fault === 'drop') return req.socket.destroy();
    if (fault) return res.writeHead(fault).end();
    const file = path.join(dir, name);
    if (!req.url.startsWith('/download/') || name.includes('/') || !fs.existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(fs.readFileSync(file));
  });
  server.requests = [];
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  server.dir = dir;
  server.base = `http://127.0.0.1:${server.address().port}/download/`;
  return server;
}

// The release of `binary` as ASSET, laid out by the same scripts the release job runs.
function makeRelease(server, binary = h.builtBinary(), version = SOURCE_VERSION) {
  execFileSync('bash', [path.join(h.ROOT, 'tests/release/make-release.sh'), server.dir, version, server.base,
    `x86_64-unknown-linux-musl=${binary}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  return path.join(server.dir, 'crlogin-release.json');
}

// A login to a username/password registry (no registry needed: verify: false).
function dcrInputs() {
  const [user, secret] = [h.canary('user'), h.canary('download-password')];
  return { inputs: { username: user, password: secret, registry: '127.0.0.1:5000', verify: 'false' }, user, secret };
}

function withToolCache(job) {
  const cache = path.join(job.dir, 'toolcache');
  fs.mkdirSync(cache);
  return cache;
}

test('download: the manifest asset is verified, cached in the tool cache and run; a second job uses the cache', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const server = await serveRelease(t);
  const manifest = makeRelease(server);
  const cache = withToolCache(job);
  const { inputs, user, secret } = dcrInputs();
  const extra = { CRLOGIN_ACTION_MANIFEST: manifest, RUNNER_TOOL_CACHE: cache };

  const r = await h.runNode(h.MAIN, h.stepEnv(job, inputs, extra));
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.deepEqual(server.requests, [`/download/${ASSET}`]);
  const cached = path.join(cache, 'crlogin', SOURCE_VERSION, process.arch, 'crlogin');
  assert.ok(fs.existsSync(`${path.dirname(cached)}.complete`));
  assert.equal(fs.statSync(cached).mode & 0o777, 0o755);
  assertRunsPrivateCopy(job, manifest);
  assert.match(r.stderr, /SHA-256 verified/);
  assert.equal(h.authEntry(h.homeAuthFiles(job).docker, '127.0.0.1:5000')?.auth, h.b64(`${user}:${secret}`));
  h.assertNoLeak({ stdout: r.stdout, stderr: r.stderr }, [secret, h.b64(`${user}:${secret}`)]);

  // The next job on this runner: no request at all.
  const job2 = h.newJob();
  t.after(job2.cleanup);
  const r2 = await h.runNode(h.MAIN, h.stepEnv(job2, dcrInputs().inputs, extra));
  assert.equal(r2.status, 0, r2.stderr + r2.stdout);
  assert.equal(server.requests.length, 1, `requests: ${server.requests}`);
  assert.match(r2.stderr, /\(tool cache, SHA-256 of release asset \S+ verified\)/);
  assertRunsPrivateCopy(job2, manifest);

  // A cached file that no longer has the release's SHA-256 is downloaded again.
  fs.appendFileSync(cached, 'x');
  const job3 = h.newJob();
  t.after(job3.cleanup);
  const r3 = await h.runNode(h.MAIN, h.stepEnv(job3, dcrInputs().inputs, extra));
  assert.equal(r3.status, 0, r3.stderr + r3.stdout);
  assert.match(r3.stderr, /ignoring the cached .*: its SHA-256 is not the release manifest's/);
  assert.equal(server.requests.length, 2);
});

// The binary the step ran (and the post step runs) is a private copy, outside the shared tool
// cache, with the manifest's SHA-256.
function assertRunsPrivateCopy(job, manifest) {
  const bin = h.parseFileCommands(job.read('GITHUB_STATE')).crlogin_bin;
  assert.equal(path.dirname(path.dirname(bin)), job.runnerTemp, bin);
  assert.equal(fs.statSync(path.dirname(bin)).mode & 0o777, 0o700);
  assert.equal(fs.statSync(bin).mode & 0o777, 0o700);
  assert.equal(sha256(fs.readFileSync(bin)), h.readJson(manifest).sha256[ASSET]);
}

// A binary another job planted in the tool cache, with its own .sha256 and .complete (all the
// old launcher checked): it records that it ran, and with which inputs' secrets.
function plantToolCache(job, cache) {
  const ran = path.join(job.dir, 'planted-ran');
  const dir = path.join(cache, 'crlogin', SOURCE_VERSION, process.arch);
  fs.mkdirSync(dir, { recursive: true });
  const body = `#!/bin/sh\nenv > '${ran}'\nexit 0\n`;
  fs.writeFileSync(path.join(dir, 'crlogin'), body, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'crlogin.sha256'), `${sha256(body)}\n`);
  fs.writeFileSync(`${dir}.complete`, '');
  return { ran, bin: path.join(dir, 'crlogin') };
}

test('planted_tool_cache_binary_is_never_run: a cached binary without the manifest\'s SHA-256 is replaced by the release', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const server = await serveRelease(t);
  const manifest = makeRelease(server);
  const cache = withToolCache(job);
  const planted = plantToolCache(job, cache);
  const { inputs, user, secret } = dcrInputs();
  const r = await h.runNode(h.MAIN, h.stepEnv(job, inputs, { CRLOGIN_ACTION_MANIFEST: manifest, RUNNER_TOOL_CACHE: cache }));
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.ok(!fs.existsSync(planted.ran), 'the planted binary ran');
  assert.match(r.stderr, /ignoring the cached .*: its SHA-256 is not the release manifest's/);
  assert.deepEqual(server.requests, [`/download/${ASSET}`]);
  assert.equal(sha256(fs.readFileSync(planted.bin)), h.readJson(manifest).sha256[ASSET], 'the cache holds the release again');
  assertRunsPrivateCopy(job, manifest);
  assert.equal(h.authEntry(h.homeAuthFiles(job).docker, '127.0.0.1:5000')?.auth, h.b64(`${user}:${secret}`));

  // Without a way to get the release, the planted binary still never runs: the step fails.
  const job2 = h.newJob();
  t.after(job2.cleanup);
  const planted2 = plantToolCache(job2, cache);
  await new Promise((resolve) => server.close(resolve));
  const r2 = await h.runNode(h.MAIN, h.stepEnv(job2, dcrInputs().inputs, { CRLOGIN_ACTION_MANIFEST: manifest, RUNNER_TOOL_CACHE: cache }));
  assert.equal(r2.status, 1, r2.stderr + r2.stdout);
  assert.ok(!fs.existsSync(planted2.ran), 'the planted binary ran');
  assert.equal(job2.read('GITHUB_STATE'), '');
});

test('tool_cache_binary_swapped_after_the_check_is_not_the_one_run: the checked bytes run from a private copy', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const server = await serveRelease(t);
  const manifest = makeRelease(server);
  const cache = withToolCache(job);
  const extra = { CRLOGIN_ACTION_MANIFEST: manifest, RUNNER_TOOL_CACHE: cache };
  assert.equal((await h.runNode(h.MAIN, h.stepEnv(job, dcrInputs().inputs, extra))).status, 0);
  const job2 = h.newJob();
  t.after(job2.cleanup);
  const r = await h.runNode(h.MAIN, h.stepEnv(job2, dcrInputs().inputs, extra));
  assert.equal(r.status, 0, r.stderr + r.stdout);
  // Whatever replaces the cached file from now on is not what this job's steps run.
  const bin = h.parseFileCommands(job2.read('GITHUB_STATE')).crlogin_bin;
  assert.ok(!bin.startsWith(cache), `${bin} is in the shared tool cache`);
  assertRunsPrivateCopy(job2, manifest);
});

test('relative_path_entry_crlogin_is_never_run: PATH entries ".", "" and relative ones are skipped', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const checkout = path.join(job.dir, 'checkout');
  fs.mkdirSync(path.join(checkout, 'sub'), { recursive: true });
  const ran = path.join(job.dir, 'planted-ran');
  const planted = `#!/bin/sh\n[ "$1" = --version ] && echo 'crlogin ${SOURCE_VERSION}' && exit 0\ntouch '${ran}'\n`;
  for (const dir of [checkout, path.join(checkout, 'sub')]) fs.writeFileSync(path.join(dir, 'crlogin'), planted, { mode: 0o755 });
  for (const PATH of [`${job.binDir}:`, `:${job.binDir}`, `${job.binDir}::/nonexistent`, `.:${job.binDir}`, `sub:${job.binDir}`]) {
    const r = await h.runNode(h.MAIN, h.stepEnv(job, dcrInputs().inputs, { PATH }), 120_000, checkout);
    assert.equal(r.status, 1, `${PATH}: ${r.stderr}${r.stdout}`);
    assert.match(r.stdout, /is not on PATH/, PATH);
    assert.ok(!fs.existsSync(ran), `PATH=${PATH}: the checkout's crlogin ran`);
  }
});

test('download: the manifest of the action\'s own release (GITHUB_ACTION_REPOSITORY on GITHUB_SERVER_URL)', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const server = await serveRelease(t);
  // The server stands in for GitHub: /OWNER/REPO/releases/download/vX.Y.Z/ is its /download/.
  const release = `/acme/crlogin/releases/download/v${SOURCE_VERSION}/`;
  const github = http.createServer((req, res) => {
    if (!req.url.startsWith(release)) return res.writeHead(404).end();
    res.writeHead(302, { location: `${server.base}${req.url.slice(release.length)}` }).end();
  });
  await new Promise((resolve) => github.listen(0, '127.0.0.1', resolve));
  t.after(() => github.close());
  makeRelease(server);
  const r = await h.runNode(
    h.MAIN,
    h.stepEnv(job, dcrInputs().inputs, {
      GITHUB_SERVER_URL: `http://127.0.0.1:${github.address().port}`,
      GITHUB_ACTION_REPOSITORY: 'acme/crlogin',
    }),
  );
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.deepEqual(server.requests, ['/download/crlogin-release.json', `/download/${ASSET}`]);
});

test('download: input release-url, a plain directory of release assets, needs no manifest', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const server = await serveRelease(t);
  fs.rmSync(makeRelease(server)); // no crlogin-release.json: SHA256SUMS and the asset suffice
  const { inputs, user, secret } = dcrInputs();
  const r = await h.runNode(h.MAIN, h.stepEnv(job, { ...inputs, 'release-url': server.base.replace(/\/$/, '') }));
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.deepEqual(server.requests, ['/download/SHA256SUMS', `/download/${ASSET}`]);
  assert.match(r.stderr, /SHA-256 verified/);
  assert.equal(h.authEntry(h.homeAuthFiles(job).docker, '127.0.0.1:5000')?.auth, h.b64(`${user}:${secret}`));
  h.assertNoLeak({ stdout: r.stdout, stderr: r.stderr }, [secret, h.b64(`${user}:${secret}`)]);
});

test('download: a failed download from release-url, or an asset not in its SHA256SUMS, names the input', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const server = await serveRelease(t);
  makeRelease(server);
  fs.rmSync(path.join(server.dir, ASSET));
  const r = await h.runNode(h.MAIN, h.stepEnv(job, { 'release-url': server.base }));
  assert.equal(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stdout, new RegExp(`^::error title=crlogin action::download of ${server.base}${ASSET} failed: HTTP 404 Not Found; check input release-url: it must be the directory with crlogin `, 'm'));
  assert.equal(job.read('GITHUB_STATE'), '');

  fs.writeFileSync(path.join(server.dir, 'SHA256SUMS'), `${'0'.repeat(64)}  crlogin-other\n`);
  const r2 = await h.runNode(h.MAIN, h.stepEnv(job, { 'release-url': server.base }));
  assert.equal(r2.status, 1, r2.stderr + r2.stdout);
  assert.match(r2.stdout, new RegExp(`SHA256SUMS has no SHA-256 for ${ASSET}: check input release-url`));

  const r3 = await h.runNode(h.MAIN, h.stepEnv(job, { 'release-url': 'http://mirror.example/crlogin/' }));
  assert.equal(r3.status, 1, r3.stderr + r3.stdout);
  assert.match(r3.stdout, /refusing to download from input release-url http:\/\/mirror\.example\/crlogin\/: only https/);
});

test('download: network errors, 5xx and 429 are retried; the step then succeeds', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const server = await serveRelease(t, { [ASSET]: [503, 'drop', 429] });
  const manifest = makeRelease(server);
  const r = await h.runNode(h.MAIN, h.stepEnv(job, dcrInputs().inputs, { CRLOGIN_ACTION_MANIFEST: manifest }));
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(server.requests.length, 4);
});

test('download: a 404 is not retried and the error names the URL, the status and the fixes', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const server = await serveRelease(t);
  const manifest = makeRelease(server);
  fs.rmSync(path.join(server.dir, ASSET));
  const r = await h.runNode(h.MAIN, h.stepEnv(job, {}, { CRLOGIN_ACTION_MANIFEST: manifest }));
  assert.equal(r.status, 1, r.stderr + r.stdout);
  assert.equal(server.requests.length, 1);
  assert.match(
    r.stdout,
    new RegExp(`^::error title=crlogin action::download of ${server.base}${ASSET} failed: HTTP 404 Not Found; check that crlogin ${SOURCE_VERSION.replace(/\./g, '\\.')} is released \\(input version\\), and if the runner reaches the internet through a proxy set HTTPS_PROXY .*; or install crlogin before this step`, 'm'),
  );
  assert.equal(job.read('GITHUB_STATE'), '');
});

test('download: an unreachable server: the error names the network cause', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const server = await serveRelease(t);
  const manifest = makeRelease(server);
  // Nothing listens on the manifest's port any more: connection refused.
  await new Promise((resolve) => server.close(resolve));
  const r = await h.runNode(h.MAIN, h.stepEnv(job, {}, { CRLOGIN_ACTION_MANIFEST: manifest }));
  assert.equal(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stdout, /::error title=crlogin action::download of http:\/\/127\.0\.0\.1:\d+\/download\/crlogin-x86_64-unknown-linux-musl failed: ECONNREFUSED .*; check that crlogin/);
});

test('download: an asset whose SHA-256 does not match is rejected and nothing runs or is cached', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const marker = path.join(job.dir, 'ran');
  const server = await serveRelease(t);
  const manifest = makeRelease(server);
  const body = Buffer.from(`#!/bin/sh\ntouch '${marker}'\n`);
  fs.writeFileSync(path.join(server.dir, ASSET), body);   // replaced after the sums were made
  const cache = withToolCache(job);

  const r = await h.runNode(h.MAIN, h.stepEnv(job, {}, { CRLOGIN_ACTION_MANIFEST: manifest, RUNNER_TOOL_CACHE: cache }));
  assert.equal(r.status, 1, r.stderr + r.stdout);
  assert.deepEqual(server.requests, [`/download/${ASSET}`]);
  assert.match(
    r.stdout,
    new RegExp(`^::error title=crlogin action::SHA-256 mismatch for http://127\\.0\\.0\\.1:\\d+/download/${ASSET}: expected [0-9a-f]{64}, got ${sha256(body)}\\. The download was discarded and nothing was run\\.$`, 'm'),
  );
  assert.ok(!fs.existsSync(marker), 'the rejected asset was run');
  assert.deepEqual(fs.readdirSync(job.runnerTemp), [], 'the rejected asset was saved');
  assert.deepEqual(fs.readdirSync(cache), [], 'the rejected asset was cached');
  assert.equal(job.read('GITHUB_STATE'), '');
});

test('download: each runner OS/arch gets its own asset (the release manifest\'s platform map)', async (t) => {
  const server = await serveRelease(t);
  const want = {
    'Linux-X64': 'crlogin-x86_64-unknown-linux-musl',
    'Linux-ARM64': 'crlogin-aarch64-unknown-linux-musl',
    'macOS-X64': 'crlogin-x86_64-apple-darwin',
    'macOS-ARM64': 'crlogin-aarch64-apple-darwin',
    'Windows-X64': 'crlogin-x86_64-pc-windows-msvc.exe',
    'Windows-ARM64': 'crlogin-x86_64-pc-windows-msvc.exe', // x64 under emulation
  };
  // Every asset is a stand-in that runs here and answers the login; each has its own SHA-256.
  const bins = fs.mkdtempSync(path.join(h.ROOT, 'target', 'tmp-stand-ins-'));
  t.after(() => fs.rmSync(bins, { recursive: true, force: true }));
  const targets = [...new Set(Object.values(want))].map((name) => {
    const file = path.join(bins, name);
    fs.writeFileSync(file, `#!/bin/sh\n# ${name}\nexit 0\n`, { mode: 0o755 });
    return `${name.replace(/^crlogin-|\.exe$/g, '')}=${file}`;
  });
  execFileSync('bash', [path.join(h.ROOT, 'tests/release/make-release.sh'), server.dir, SOURCE_VERSION, server.base, ...targets],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  const manifest = path.join(server.dir, 'crlogin-release.json');
  for (const [key, asset] of Object.entries(want)) {
    const [os, arch] = key.split('-');
    const job = h.newJob();
    t.after(job.cleanup);
    const r = await h.runNode(h.MAIN, h.stepEnv(job, dcrInputs().inputs, { CRLOGIN_ACTION_MANIFEST: manifest, RUNNER_OS: os, RUNNER_ARCH: arch }));
    assert.equal(r.status, 0, `${key}: ${r.stderr}${r.stdout}`);
    assert.equal(server.requests.at(-1), `/download/${asset}`, key);
  }
  assert.equal(server.requests.length, Object.keys(want).length);
});

test('the release workflow builds each asset of the manifest\'s platform map, each a build-release.sh target', () => {
  const read = (file) => fs.readFileSync(path.join(h.ROOT, file), 'utf8');
  const built = [...read('.github/workflows/release.yml').matchAll(/^ +- target: (\S+)$/gm)].map((m) => m[1]).sort();
  const mapped = [...read('scripts/release-manifest.sh').matchAll(/^crlogin-(\S+?)(?:\.exe)? +\w+-\w+$/gm)].map((m) => m[1]).sort();
  const known = [...read('scripts/build-release.sh').matchAll(/^(\S+-\S+) +(?:zigbuild|cargo) /gm)].map((m) => m[1]);
  assert.equal(mapped.length, 5, `platform map: ${mapped}`);
  assert.deepEqual(built, mapped);
  for (const target of built) assert.ok(known.includes(target), `build-release.sh has no row for ${target}`);
});

test('an unsupported OS/arch names the supported ones', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const server = await serveRelease(t);
  const manifest = makeRelease(server);
  const r = await h.runNode(h.MAIN, h.stepEnv(job, {}, { CRLOGIN_ACTION_MANIFEST: manifest, RUNNER_ARCH: 'ARM' }));
  assert.equal(r.status, 1);
  assert.match(r.stdout, new RegExp(`::error title=crlogin action::crlogin ${SOURCE_VERSION.replace(/\./g, '\\.')} has no binary for Linux-ARM; it has Linux-X64: `));
  assert.deepEqual(server.requests, []);
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
  assert.match(r.stdout, /::error title=crlogin action::refusing to download crlogin from http:\/\/example\.invalid\/crlogin-/);
});

test('a crlogin of the requested version on PATH is used without a download', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  h.writeTool(job, 'crlogin', `#!/bin/sh\n[ "$1" = --version ] && echo 'crlogin ${SOURCE_VERSION} (abc1234 2026-12-01, x86_64-unknown-linux-musl)' && exit 0\nexit 0\n`);
  const r = await h.runNode(h.MAIN, h.stepEnv(job, {}, { CRLOGIN_ACTION_MANIFEST: path.join(job.dir, 'none.json') }));
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stderr, /\(crlogin [^ ]+, on PATH\)/);
});

test('no release to download from (uses: ./) and nothing on PATH: an error saying what to do, no build', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const record = path.join(job.dir, 'cargo-args');
  h.writeTool(job, 'crlogin', `#!/bin/sh\necho 'crlogin 0.0.0-other'\n`);
  h.writeTool(job, 'cargo', `#!/bin/sh\ntouch '${record}'\nexit 101\n`);
  const r = await h.runNode(h.MAIN, h.stepEnv(job));
  assert.equal(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stderr, /not using .*crlogin 0\.0\.0-other, not /);
  assert.match(r.stdout, /^::error title=crlogin action::crlogin \S+ is not on PATH and this action was not loaded from a repository with releases .*: install crlogin before this step, or set build-from-source: true$/m);
  assert.ok(!fs.existsSync(record), 'cargo ran without build-from-source');
});

test('build-from-source: true builds the action\'s source with cargo', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const record = path.join(job.dir, 'cargo-args');
  // A stand-in cargo that records its arguments and fails, so nothing is really built.
  h.writeTool(job, 'cargo', `#!/bin/sh\nprintf '%s\\n' "$@" > '${record}'\nexit 101\n`);
  const r = await h.runNode(h.MAIN, h.stepEnv(job, { 'build-from-source': 'true' }));
  assert.equal(r.status, 1, r.stderr + r.stdout);
  assert.deepEqual(fs.readFileSync(record, 'utf8').trim().split('\n'), [
    'build', '--release', '--locked',
    '--manifest-path', path.join(h.ROOT, 'Cargo.toml'),
    '--target-dir', path.join(h.ROOT, 'target'),
  ]);
  assert.match(r.stdout, /^::error title=crlogin action::cargo build failed \(exit 101\)$/m);
  assert.equal(job.read('GITHUB_STATE'), '');
});

test('build-from-source: true without cargo says to install Rust or crlogin', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const r = await h.runNode(h.MAIN, h.stepEnv(job, { 'build-from-source': 'true' }));
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^::error title=crlogin action::build-from-source is true but cargo is not on PATH: install Rust before this step/m);
});

test('build-from-source for a version other than the source is refused', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  const r = await h.runNode(h.MAIN, h.stepEnv(job, { version: '9.9.9', 'build-from-source': 'true' }));
  assert.equal(r.status, 1);
  assert.match(r.stdout, /::error title=crlogin action::build-from-source builds this action's source, crlogin \S+, not 9\.9\.9/);
});
