'use strict';
// End to end with the real binary (cargo build first): main.js logs in, post.js cleans up. The
// username/password logins go to a real registry on loopback (docker-registry, htpasswd), which
// the action asks before writing (verify is on by default).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const h = require('./helpers');

// Runs main.js, checks what every login must satisfy, and returns what it left.
async function login(t, inputs, { host, user, secret }) {
  const job = h.newJob();
  t.after(job.cleanup);
  const bin = h.builtBinary();
  h.linkCrlogin(job, bin);
  const secrets = [secret, h.b64(`${user}:${secret}`)];

  const main = await h.runNode(h.MAIN, h.stepEnv(job, inputs));
  const files = Object.fromEntries(['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY', 'GITHUB_ENV'].map((f) => [f, job.read(f)]));
  const where = { stdout: main.stdout, stderr: main.stderr, ...files };
  const ctx = { job, main, secrets, files, bin };

  await t.test('login exits 0', () => assert.equal(main.status, 0, `stderr:\n${main.stderr}\nstdout:\n${main.stdout}`));
  await t.test('::add-mask:: lines come first and cover every secret-derived value', () =>
    h.assertMasksFirst(main.stderr, secrets));
  await t.test('no secret in stdout, stderr or the file-command files', () => h.assertNoLeak(where, secrets));
  await t.test('GITHUB_STATE has crlogin_bin', () =>
    assert.equal(h.parseFileCommands(files.GITHUB_STATE).crlogin_bin, path.join(job.binDir, 'crlogin')));

  // Written by the binary (docs/src/ci-contract.md, GitHub Actions).
  await t.test('[binary] GITHUB_STATE has crlogin_state as one-line JSON', () => {
    const state = h.parseFileCommands(files.GITHUB_STATE).crlogin_state;
    assert.ok(state, `no crlogin_state in GITHUB_STATE:\n${files.GITHUB_STATE}`);
    assert.ok(!state.includes('\n'));
    JSON.parse(state);
  });
  await t.test('[binary] GITHUB_OUTPUT has registries, username and expires-at', () => {
    const out = h.parseFileCommands(files.GITHUB_OUTPUT);
    assert.deepEqual(out.registries?.split('\n'), [host], `GITHUB_OUTPUT:\n${files.GITHUB_OUTPUT}`);
    assert.equal(out.username, user);
    assert.ok('expires-at' in out, 'no expires-at');
    assert.match(out['expires-at'], /^$|^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    // The registries output is a heredoc with a random delimiter, per the contract.
    assert.match(files.GITHUB_OUTPUT, /^registries<<(.+)$/m);
  });
  await t.test('[binary] GITHUB_STEP_SUMMARY has a table row for the registry', () => {
    const row = files.GITHUB_STEP_SUMMARY.split('\n').find((l) => l.startsWith('|') && l.includes(host));
    assert.ok(row, `no table row for ${host} in the summary:\n${files.GITHUB_STEP_SUMMARY}`);
    assert.ok(row.includes(user), `the row does not name user ${user}: ${row}`);
  });
  return ctx;
}

// Runs post.js with STATE_* from GITHUB_STATE.
async function post(t, ctx, inputs = {}) {
  const r = await h.runNode(h.POST, h.postEnv(ctx.job, inputs));
  await t.test('post: no secret in its output', () => h.assertNoLeak({ stdout: r.stdout, stderr: r.stderr }, ctx.secrets));
  return r;
}

function assertWritten(files, host, user, secret) {
  for (const [tool, file] of Object.entries(files)) {
    assert.equal(h.authEntry(file, host)?.auth, h.b64(`${user}:${secret}`), `${tool} file ${file}`);
  }
}

function assertRemoved(files, host) {
  for (const [tool, file] of Object.entries(files)) {
    assert.equal(h.authEntry(file, host), undefined, `${tool} file ${file} still has ${host}`);
  }
}

test('username/password registry: login, then post removes it', async (t) => {
  const [user, secret] = [h.canary('user'), h.canary('dcr-password')];
  const host = await h.startRegistry(t, user, secret);
  const ctx = await login(t, { username: user, password: secret, registry: host }, { host, user, secret });
  await t.test('the registry was asked before writing (verify is on by default)', () =>
    assert.match(ctx.main.stderr, new RegExp(`verified ${host.replace(/\./g, '\\.')}`)));
  const files = h.homeAuthFiles(ctx.job);
  await t.test('docker, helm and podman files have the auth entry', () => assertWritten(files, host, user, secret));

  const r = await post(t, ctx);
  await t.test('[binary] post: crlogin cleanup exits 0', () => assert.equal(r.status, 0, r.stderr + r.stdout));
  await t.test('[binary] post: the entries are gone', () => assertRemoved(files, host));
});

test('Nebius static key for one region: login, then post removes it', async (t) => {
  const [user, secret, host] = ['iam', h.canary('static-key'), 'cr.eu-north1.nebius.cloud'];
  // No Nebius registry here to ask: verify: false.
  const ctx = await login(t, { 'static-key': secret, regions: 'eu-north1', for: 'docker', verify: 'false' }, { host, user, secret });
  const files = h.homeAuthFiles(ctx.job);
  await t.test('only the docker file is written (for: docker)', () => {
    assertWritten({ docker: files.docker }, host, user, secret);
    assert.ok(!fs.existsSync(files.helm) && !fs.existsSync(files.podman));
  });

  const r = await post(t, ctx);
  await t.test('[binary] post: crlogin cleanup exits 0', () => assert.equal(r.status, 0, r.stderr + r.stdout));
  await t.test('[binary] post: the entry is gone', () => assertRemoved({ docker: files.docker }, host));
});

test('isolated: credentials in a private dir exported via GITHUB_ENV; post removes the dir', async (t) => {
  const [user, secret] = [h.canary('user'), h.canary('isolated-password')];
  const host = await h.startRegistry(t, user, secret);
  const ctx = await login(t, { username: user, password: secret, registry: host, isolated: 'true' }, { host, user, secret });
  const exported = h.parseFileCommands(ctx.files.GITHUB_ENV);
  const dir = exported.DOCKER_CONFIG;
  await t.test('GITHUB_ENV points all three tools into one dir under RUNNER_TEMP', () => {
    assert.ok(dir && dir.startsWith(ctx.job.runnerTemp), `GITHUB_ENV:\n${ctx.files.GITHUB_ENV}`);
    assert.equal(exported.HELM_REGISTRY_CONFIG, path.join(dir, 'config.json'));
    assert.equal(exported.REGISTRY_AUTH_FILE, path.join(dir, 'config.json'));
    assertWritten({ isolated: path.join(dir, 'config.json') }, host, user, secret);
    assert.ok(!fs.existsSync(path.join(ctx.job.home, '.docker')), 'the shared home was written');
  });

  const r = await post(t, ctx);
  await t.test('[binary] post: crlogin cleanup exits 0', () => assert.equal(r.status, 0, r.stderr + r.stdout));
  await t.test('[binary] post: the isolated dir is removed', () => assert.ok(!fs.existsSync(dir), `${dir} still exists`));
});

test('logout: false leaves the credentials in place', async (t) => {
  const [user, secret] = [h.canary('user'), h.canary('kept-password')];
  const host = await h.startRegistry(t, user, secret);
  const inputs = { username: user, password: secret, registry: host, logout: 'false' };
  const ctx = await login(t, inputs, { host, user, secret });
  const r = await post(t, ctx, inputs);
  await t.test('post exits 0 and the entries stay', () => {
    assert.equal(r.status, 0, r.stderr);
    assertWritten(h.homeAuthFiles(ctx.job), host, user, secret);
  });
});

test('a failed login fails the step with the binary exit code and leaks nothing', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  h.linkCrlogin(job, h.builtBinary());
  const secret = h.canary('orphan-password');
  // A password without username or registry is an error, reported by the binary.
  const r = await h.runNode(h.MAIN, h.stepEnv(job, { password: secret }));
  assert.equal(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stderr, /^::error /m); // the binary writes workflow commands to stderr
  h.assertNoLeak({ stdout: r.stdout, stderr: r.stderr, GITHUB_OUTPUT: job.read('GITHUB_OUTPUT') }, [secret]);
  assert.ok(!fs.existsSync(path.join(job.home, '.docker')), 'something was written');
});

test('an empty password input is named as the input, with its causes; the post step then suggests no logout', async (t) => {
  const job = h.newJob();
  t.after(job.cleanup);
  h.linkCrlogin(job, h.builtBinary());
  // `password: ${{ secrets.MISSING }}` arrives empty: only username and registry are set.
  const r = await h.runNode(h.MAIN, h.stepEnv(job, { username: 'robot', registry: 'registry.example.com', password: '' }));
  assert.equal(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stderr, /^::error title=crlogin::input `password` not set: a username\/password login needs/m);
  for (const cause of ['pull request from a fork', 'Dependabot', 'does not exist']) assert.ok(r.stderr.includes(cause), cause);
  assert.ok(!r.stderr.includes('CRLOGIN_ACTION'), r.stderr);
  const post = await h.runNode(h.POST, h.stepEnv(job, {}, { STATE_crlogin_bin: path.join(job.binDir, 'crlogin') }));
  assert.equal(post.status, 0, post.stderr + post.stdout);
  assert.match(post.stderr, /nothing to clean up: the login step saved no state/);
  assert.ok(!post.stderr.includes('logout'), post.stderr);
});

test('a wrong password fails the step by default, with nothing written and a summary saying why', async (t) => {
  const [user, right, wrong] = [h.canary('user'), h.canary('right-password'), h.canary('wrong-password')];
  const host = await h.startRegistry(t, user, right);
  for (const isolated of ['false', 'true']) {
    const job = h.newJob();
    t.after(job.cleanup);
    h.linkCrlogin(job, h.builtBinary());
    const r = await h.runNode(h.MAIN, h.stepEnv(job, { username: user, password: wrong, registry: `https://${host}/team`, isolated }));
    const files = Object.fromEntries(['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY', 'GITHUB_ENV'].map((f) => [f, job.read(f)]));
    assert.equal(r.status, 1, r.stderr + r.stdout);
    // In the action's words (input verify), one line naming the registry, the reason and the fix.
    assert.match(r.stderr, new RegExp(`^::error title=crlogin::\`verify: true\`: ${host.replace(/\./g, '\\.')} did not accept the login: the registry rejected the credential \\(HTTP 401 Unauthorized\\): check the username and secret; nothing was written$`, 'm'));
    assert.ok(!/logged in/.test(r.stderr), r.stderr);
    assert.ok(!fs.existsSync(path.join(job.home, '.docker')) && !fs.existsSync(path.join(job.home, '.config')), 'a file was written');
    assert.deepEqual(fs.readdirSync(job.runnerTemp), [], `isolated: ${isolated}: a directory was made`);
    assert.equal(files.GITHUB_OUTPUT, '');
    assert.equal(files.GITHUB_ENV, '');
    assert.deepEqual(Object.keys(h.parseFileCommands(files.GITHUB_STATE)), ['crlogin_bin']);
    assert.match(files.GITHUB_STEP_SUMMARY, /login failed, nothing was written/);
    assert.ok(files.GITHUB_STEP_SUMMARY.includes(`| ${host} | `), files.GITHUB_STEP_SUMMARY);
    h.assertNoLeak({ stdout: r.stdout, stderr: r.stderr, ...files }, [wrong, h.b64(`${user}:${wrong}`)]);
    const post = await h.runNode(h.POST, h.postEnv(job));
    assert.equal(post.status, 0, post.stderr + post.stdout);
    assert.match(post.stderr, /nothing to clean up: the login step saved no state/);
  }
});

test('verify: false writes a wrong password without asking the registry', async (t) => {
  const [user, right, wrong] = [h.canary('user'), h.canary('right-password'), h.canary('unchecked-password')];
  const host = await h.startRegistry(t, user, right);
  const ctx = await login(t, { username: user, password: wrong, registry: host, verify: 'false' }, { host, user, secret: wrong });
  await t.test('nothing was verified, and the files have the entry', () => {
    assert.ok(!/verified/.test(ctx.main.stderr), ctx.main.stderr);
    assertWritten(h.homeAuthFiles(ctx.job), host, user, wrong);
  });
});

test('a registry input written as a URL is logged into under its host, as docker login does', async (t) => {
  const [user, secret] = [h.canary('user'), h.canary('url-password')];
  const host = await h.startRegistry(t, user, secret);
  const ctx = await login(t, { username: user, password: secret, registry: `http://${host}/team/` }, { host, user, secret });
  await t.test('the entries are keyed by the host', () => assertWritten(h.homeAuthFiles(ctx.job), host, user, secret));
});
