'use strict';
// Input mapping, with a stand-in `crlogin` on PATH that records its argv and environment.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const h = require('./helpers');

const SOURCE_VERSION = /^version\s*=\s*"([^"]+)"/m.exec(fs.readFileSync(path.join(h.ROOT, 'Cargo.toml'), 'utf8'))[1];

// A fake crlogin: `--version` prints `crlogin <version>`; anything else is recorded as JSON.
function fakeCrlogin(job, version = SOURCE_VERSION) {
  const record = path.join(job.dir, 'record.jsonl');
  h.writeTool(
    job,
    'crlogin',
    `#!${process.execPath}
const fs = require('node:fs');
const args = process.argv.slice(2);
if (args[0] === '--version') { console.log('crlogin ${version}'); process.exit(0); }
fs.appendFileSync(${JSON.stringify(record)}, JSON.stringify({ args, env: process.env }) + '\\n');
process.exit(Number(process.env.FAKE_EXIT || 0));
`,
  );
  return () =>
    fs.existsSync(record)
      ? fs.readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
      : [];
}

test('every input maps to its variable; secrets only in the environment', async () => {
  const job = h.newJob();
  try {
    const calls = fakeCrlogin(job);
    const inputs = {
      registries: 'a.example.com\nb.example.com:5000\n',
      regions: 'eu-north1, eu-west1',
      for: 'docker,helm',
      'static-key': 'static-secret',
      'sa-credentials': '{"subject-credentials":{}}',
      'service-account-id': 'serviceaccount-e00abc',
      'public-key-id': 'publickey-e00def',
      'private-key': '-----BEGIN PRIVATE KEY-----\nkey-secret\n-----END PRIVATE KEY-----\n',
      oidc: 'true',
      audience: 'my-audience',
      username: 'robot',
      password: 'plain-secret',
      registry: 'harbor.example.com/team',
      verify: 'true',
      logout: 'true',
      isolated: 'True',
      'export-env': 'TRUE',
      version: '',
    };
    const r = await h.runNode(h.MAIN, h.stepEnv(job, inputs, { CRLOGIN_FROM_ENV: 'HARBOR' }));
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const [call] = calls();
    assert.deepEqual(call.args, ['login']);
    const want = {
      CRLOGIN_REGISTRIES: 'a.example.com,b.example.com:5000',
      NEBIUS_REGIONS: 'eu-north1,eu-west1',
      CRLOGIN_FOR: 'docker,helm',
      NEBIUS_STATIC_KEY: 'static-secret',
      NEBIUS_SA_CREDENTIALS: '{"subject-credentials":{}}',
      NEBIUS_SERVICE_ACCOUNT_ID: 'serviceaccount-e00abc',
      NEBIUS_PUBLIC_KEY_ID: 'publickey-e00def',
      NEBIUS_PRIVATE_KEY: inputs['private-key'],
      CRLOGIN_AUTH: 'oidc',
      NEBIUS_OIDC_AUDIENCE: 'my-audience',
      CRLOGIN_ACTION_USERNAME: 'robot',
      CRLOGIN_ACTION_PASSWORD: 'plain-secret',
      CRLOGIN_ACTION_REGISTRY: 'harbor.example.com/team',
      CRLOGIN_FROM_ENV: 'HARBOR,CRLOGIN_ACTION',
      CRLOGIN_VERIFY: 'true',
      CRLOGIN_ISOLATED: 'true',
      CRLOGIN_EXPORT_ENV: 'true',
      GITHUB_ACTIONS: 'true',
    };
    for (const [name, value] of Object.entries(want)) assert.equal(call.env[name], value, name);
    const leaked = Object.keys(call.env).filter((n) => n.startsWith('INPUT_'));
    assert.deepEqual(leaked, [], 'INPUT_* copies of the secrets reach the binary');
    h.assertNoLeak({ stdout: r.stdout, stderr: r.stderr }, ['static-secret', 'plain-secret', 'key-secret']);
    assert.equal(h.parseFileCommands(job.read('GITHUB_STATE')).crlogin_bin, path.join(job.binDir, 'crlogin'));
  } finally {
    job.cleanup();
  }
});

test('empty and false inputs leave the step env alone', async () => {
  const job = h.newJob();
  try {
    const calls = fakeCrlogin(job);
    const inputs = { regions: '', 'static-key': '', isolated: 'false', oidc: 'false', 'export-env': 'false' };
    const extra = { NEBIUS_REGIONS: 'us-central1', NEBIUS_STATIC_KEY_FILE: '/run/secrets/key' };
    const r = await h.runNode(h.MAIN, h.stepEnv(job, inputs, extra));
    assert.equal(r.status, 0, r.stderr);
    const { env } = calls()[0];
    assert.equal(env.NEBIUS_REGIONS, 'us-central1');
    assert.equal(env.NEBIUS_STATIC_KEY_FILE, '/run/secrets/key');
    for (const name of ['NEBIUS_STATIC_KEY', 'CRLOGIN_ISOLATED', 'CRLOGIN_AUTH', 'CRLOGIN_EXPORT_ENV', 'CRLOGIN_FROM_ENV']) {
      assert.equal(env[name], undefined, name);
    }
  } finally {
    job.cleanup();
  }
});

test('verify is on by default (the runner passes the default "true", or nothing); verify: false turns it off', async () => {
  const job = h.newJob();
  try {
    const calls = fakeCrlogin(job);
    for (const [inputs, want] of [[{}, 'true'], [{ verify: 'true' }, 'true'], [{ verify: 'false' }, 'false']]) {
      const r = await h.runNode(h.MAIN, h.stepEnv(job, inputs));
      assert.equal(r.status, 0, r.stderr);
      assert.equal(calls().pop().env.CRLOGIN_VERIFY, want, JSON.stringify(inputs));
    }
  } finally {
    job.cleanup();
  }
});

test('main exits with the binary exit code', async () => {
  const job = h.newJob();
  try {
    fakeCrlogin(job);
    const r = await h.runNode(h.MAIN, h.stepEnv(job, {}, { FAKE_EXIT: '2' }));
    assert.equal(r.status, 2);
  } finally {
    job.cleanup();
  }
});

test('a bad boolean input is an error before anything runs', async () => {
  const job = h.newJob();
  try {
    const calls = fakeCrlogin(job);
    const r = await h.runNode(h.MAIN, h.stepEnv(job, { verify: 'yes' }));
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^::error title=crlogin action::input "verify" must be true or false, not "yes"$/m);
    assert.deepEqual(calls(), []);
    assert.equal(job.read('GITHUB_STATE'), '');
  } finally {
    job.cleanup();
  }
});

test('post runs `crlogin cleanup` from the saved binary, with STATE_* and no INPUT_*', async () => {
  const job = h.newJob();
  try {
    const calls = fakeCrlogin(job);
    fs.appendFileSync(job.files.GITHUB_STATE, 'crlogin_state<<EOF_1\n{"v":1}\nEOF_1\n');
    assert.equal((await h.runNode(h.MAIN, h.stepEnv(job))).status, 0);
    const r = await h.runNode(h.POST, h.postEnv(job, { logout: 'true', password: 'post-secret' }));
    assert.equal(r.status, 0, r.stderr);
    const post = calls()[1];
    assert.deepEqual(post.args, ['cleanup']);
    assert.equal(post.env.STATE_crlogin_state, '{"v":1}');
    assert.equal(post.env.STATE_crlogin_bin, path.join(job.binDir, 'crlogin'));
    assert.deepEqual(Object.keys(post.env).filter((n) => n.startsWith('INPUT_')), []);
  } finally {
    job.cleanup();
  }
});

test('post with logout: false, or without a saved binary, runs nothing and succeeds', async () => {
  const job = h.newJob();
  try {
    const calls = fakeCrlogin(job);
    fs.appendFileSync(job.files.GITHUB_STATE, `crlogin_bin=${path.join(job.binDir, 'crlogin')}\n`);
    assert.equal((await h.runNode(h.POST, h.postEnv(job, { logout: 'false' }))).status, 0);
    fs.writeFileSync(job.files.GITHUB_STATE, '');
    assert.equal((await h.runNode(h.POST, h.postEnv(job, { logout: 'true' }))).status, 0);
    assert.deepEqual(calls(), []);
  } finally {
    job.cleanup();
  }
});
