'use strict';
// Runs action/main.js and action/post.js the way the GitHub runner does: INPUT_* variables,
// file-command files (GITHUB_OUTPUT, GITHUB_STATE, GITHUB_STEP_SUMMARY, GITHUB_ENV), RUNNER_TEMP,
// a private HOME, and STATE_* for the post step parsed from GITHUB_STATE.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'action', 'main.js');
const POST = path.join(ROOT, 'action', 'post.js');

// The binary `cargo build` made (CRLOGIN_TEST_BIN overrides).
function builtBinary() {
  const bin =
    process.env.CRLOGIN_TEST_BIN ||
    path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'crlogin');
  assert.ok(fs.existsSync(bin), `${bin} does not exist: run \`cargo build\` first`);
  return path.resolve(bin);
}

function canary(label) {
  return `${label}-${crypto.randomBytes(12).toString('hex')}`;
}

const b64 = (s) => Buffer.from(s).toString('base64');

// A fresh job: temp HOME, RUNNER_TEMP, the four file-command files and a bin dir for PATH.
function newJob() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crlogin-action-test-'));
  const job = {
    dir,
    home: path.join(dir, 'home'),
    runnerTemp: path.join(dir, 'runner-temp'),
    binDir: path.join(dir, 'bin'),
    files: {
      GITHUB_OUTPUT: path.join(dir, 'github_output'),
      GITHUB_STATE: path.join(dir, 'github_state'),
      GITHUB_STEP_SUMMARY: path.join(dir, 'github_step_summary'),
      GITHUB_ENV: path.join(dir, 'github_env'),
    },
  };
  for (const d of [job.home, job.runnerTemp, job.binDir]) fs.mkdirSync(d);
  for (const f of Object.values(job.files)) fs.writeFileSync(f, '');
  job.read = (name) => fs.readFileSync(job.files[name], 'utf8');
  job.cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  return job;
}

// Puts a `crlogin` symlink to `target` in the job's PATH dir.
function linkCrlogin(job, target) {
  fs.symlinkSync(target, path.join(job.binDir, 'crlogin'));
}

// Writes an executable script into the job's PATH dir.
function writeTool(job, name, text) {
  const file = path.join(job.binDir, name);
  fs.writeFileSync(file, text, { mode: 0o755 });
  return file;
}

// The step's environment as the runner builds it: nothing from this process but what is named.
function stepEnv(job, inputs = {}, extra = {}) {
  const env = {
    PATH: job.binDir,
    HOME: job.home,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    RUNNER_TEMP: job.runnerTemp,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    ...job.files,
  };
  for (const [name, value] of Object.entries(inputs)) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  return { ...env, ...extra };
}

// Runs a node script (in `cwd`, else this process's); async, so a test's own HTTP server keeps answering meanwhile.
function runNode(script, env, timeoutMs = 120_000, cwd = undefined) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

// Parses a file-command file: `name=value` lines and `name<<DELIM` ... `DELIM` blocks.
function parseFileCommands(text) {
  const out = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delim] = heredoc;
      const value = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i]);
      assert.ok(i < lines.length, `unterminated ${name}<<${delim} in:\n${text}`);
      out[name] = value.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `not a file command line: ${JSON.stringify(line)}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

// The post step's environment: the step's, plus STATE_<name> for each saved state.
function postEnv(job, inputs = {}, extra = {}) {
  const env = stepEnv(job, inputs, extra);
  for (const [name, value] of Object.entries(parseFileCommands(job.read('GITHUB_STATE')))) {
    env[`STATE_${name}`] = value;
  }
  return env;
}

const MASK = '::add-mask::';

// Every ::add-mask:: line comes before any other line the binary prints (the launcher's own
// "crlogin action:" lines, which carry no secret, may come first), and every secret-derived
// string is masked. The binary writes workflow commands to stderr.
function assertMasksFirst(stderr, secrets) {
  const lines = stderr.split(/\r?\n/).filter((l) => l && !l.startsWith('crlogin action: '));
  const firstOther = lines.findIndex((l) => !l.startsWith(MASK));
  const lastMask = lines.map((l) => l.startsWith(MASK)).lastIndexOf(true);
  assert.ok(
    firstOther === -1 || lastMask < firstOther,
    `an ::add-mask:: line comes after other output on stderr:\n${stderr}`,
  );
  const masked = new Set(lines.filter((l) => l.startsWith(MASK)).map((l) => l.slice(MASK.length)));
  for (const s of secrets) assert.ok(masked.has(s), `no ::add-mask:: for a secret-derived value (${s.length} chars)`);
}

// No secret anywhere in `texts` except on ::add-mask:: lines.
function assertNoLeak(texts, secrets) {
  for (const [where, text] of Object.entries(texts)) {
    for (const line of text.split(/\r?\n/)) {
      if (line.startsWith(MASK)) continue;
      for (const s of secrets) assert.ok(!line.includes(s), `a secret leaked into ${where}`);
    }
  }
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// The three tools' files under the job's HOME (no DOCKER_CONFIG, XDG_* or REGISTRY_AUTH_FILE set).
function homeAuthFiles(job) {
  return {
    docker: path.join(job.home, '.docker', 'config.json'),
    helm: path.join(job.home, '.config', 'helm', 'registry', 'config.json'),
    podman: path.join(job.home, '.config', 'containers', 'auth.json'),
  };
}

// The auths entry for `host` in `file`, or undefined (also when the file is gone).
function authEntry(file, host) {
  if (!fs.existsSync(file)) return undefined;
  return (readJson(file).auths || {})[host];
}

// A free loopback port (the registry binds it right after; a race is retried by the caller).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = require('node:net').createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// A CNCF distribution registry on loopback accepting only `user`/`password` (htpasswd), ready
// when its log says "listening on"; stopped when the test ends. Resolves to its host.
async function startRegistry(t, user, password) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crlogin-action-registry-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { execFileSync } = require('node:child_process');
  const htpasswd = execFileSync('htpasswd', ['-iBn', user], { input: password, stdio: ['pipe', 'pipe', 'ignore'] });
  fs.writeFileSync(path.join(dir, 'htpasswd'), htpasswd);
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'config.yml');
    fs.writeFileSync(
      config,
      `version: 0.1\nlog: {level: info}\nstorage: {filesystem: {rootdirectory: ${JSON.stringify(path.join(dir, 'data'))}}}\n` +
        `http: {addr: "127.0.0.1:${port}"}\nauth: {htpasswd: {realm: test, path: ${JSON.stringify(path.join(dir, 'htpasswd'))}}}\n`,
    );
    const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const ready = await new Promise((resolve) => {
      child.stderr.on('data', (d) => {
        log += d;
        if (log.includes('msg="listening on ')) resolve(true);
      });
      child.on('exit', () => resolve(false));
      child.on('error', () => resolve(false));
    });
    if (ready) {
      t.after(() => child.kill('SIGKILL'));
      return `127.0.0.1:${port}`;
    }
    if (!log.includes('address already in use')) throw new Error(`the registry did not start: ${log}`);
  }
  throw new Error('the registry found no free port in 5 tries');
}

module.exports = {
  startRegistry,
  MAIN,
  POST,
  ROOT,
  assertMasksFirst,
  assertNoLeak,
  authEntry,
  b64,
  builtBinary,
  canary,
  homeAuthFiles,
  linkCrlogin,
  newJob,
  parseFileCommands,
  postEnv,
  readJson,
  runNode,
  stepEnv,
  writeTool,
};
