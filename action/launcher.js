'use strict';
// The action's launcher: finds the crlogin binary and maps the action's inputs to the
// environment variables of docs/ci-contract.md. Everything else is the binary's job.
// No npm dependencies: this runs straight from the action's checkout.

const { spawnSync, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ACTION_ROOT = path.resolve(__dirname, '..');
const EXE = process.platform === 'win32' ? 'crlogin.exe' : 'crlogin';

// The runner passes input `static-key` as INPUT_STATIC-KEY (hyphen kept).
function input(name) {
  return process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '';
}

// The same values @actions/core's getBooleanInput accepts.
function boolInput(name, fallback) {
  const value = input(name).trim();
  if (value === '') return fallback;
  if (['true', 'True', 'TRUE'].includes(value)) return true;
  if (['false', 'False', 'FALSE'].includes(value)) return false;
  throw new Error(`input "${name}" must be true or false, not "${value}"`);
}

// "a, b" or one item per line (a YAML block) -> "a,b".
function listInput(name) {
  return input(name)
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .join(',');
}

// The environment of every crlogin run: the step's own, without the INPUT_* copies of secrets,
// and CRLOGIN_WRAPPER, so the binary words its errors with this action's inputs.
function baseEnv() {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.toUpperCase().startsWith('INPUT_')) env[name] = value;
  }
  env.CRLOGIN_WRAPPER = 'github-action';
  return env;
}

// Secrets travel only in the environment, never in argv. An empty input leaves the variable
// from the step's env alone; so does a false boolean.
function loginEnv() {
  const env = baseEnv();
  const set = (name, value) => {
    if (value) env[name] = value;
  };
  set('NEBIUS_REGIONS', listInput('regions'));
  set('CRLOGIN_REGISTRIES', listInput('registries'));
  set('CRLOGIN_FOR', listInput('for'));
  set('NEBIUS_STATIC_KEY', input('static-key'));
  set('NEBIUS_SA_CREDENTIALS', input('sa-credentials'));
  set('NEBIUS_SERVICE_ACCOUNT_ID', input('service-account-id').trim());
  set('NEBIUS_PUBLIC_KEY_ID', input('public-key-id').trim());
  set('NEBIUS_PRIVATE_KEY', input('private-key'));
  set('NEBIUS_OIDC_AUDIENCE', input('audience').trim());
  if (boolInput('oidc', false)) env.CRLOGIN_AUTH = 'oidc';
  if (boolInput('verify', false)) env.CRLOGIN_VERIFY = 'true';
  if (boolInput('isolated', false)) env.CRLOGIN_ISOLATED = 'true';
  if (boolInput('export-env', false)) env.CRLOGIN_EXPORT_ENV = 'true';

  const plain = {
    USERNAME: input('username'),
    PASSWORD: input('password'),
    REGISTRY: input('registry').trim(),
  };
  if (plain.USERNAME || plain.PASSWORD || plain.REGISTRY) {
    // A missing part is left for the binary to report.
    for (const [part, value] of Object.entries(plain)) set(`CRLOGIN_ACTION_${part}`, value);
    env.CRLOGIN_FROM_ENV = [env.CRLOGIN_FROM_ENV, 'CRLOGIN_ACTION'].filter(Boolean).join(',');
  }
  return env;
}

function log(message) {
  // stderr: stdout is kept for the binary's ::add-mask:: lines, which must come first.
  process.stderr.write(`crlogin action: ${message}\n`);
}

// The version of the action's own source: the default for input `version`.
function sourceVersion() {
  const toml = fs.readFileSync(path.join(ACTION_ROOT, 'Cargo.toml'), 'utf8');
  const pkg = toml.split(/^\[/m).find((s) => s.startsWith('package]'));
  const m = pkg && /^version\s*=\s*"([^"]+)"/m.exec(pkg);
  if (!m) throw new Error(`no [package] version in ${path.join(ACTION_ROOT, 'Cargo.toml')}`);
  return m[1];
}

function findOnPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

// `crlogin --version` prints `crlogin X.Y.Z`.
function binaryVersion(bin) {
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 });
    const m = /^crlogin (\S+)\s*$/.exec(out.trim());
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

// RUNNER_OS-RUNNER_ARCH, e.g. Linux-X64: the key of the manifest's asset map.
function platformKey() {
  const osName = process.env.RUNNER_OS || { linux: 'Linux', darwin: 'macOS', win32: 'Windows' }[process.platform];
  const arch = process.env.RUNNER_ARCH || { x64: 'X64', arm64: 'ARM64', ia32: 'X86', arm: 'ARM' }[process.arch];
  return `${osName}-${arch}`;
}

function isLoopback(host) {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

// The release manifest shipped with the action; CRLOGIN_ACTION_MANIFEST points tests elsewhere.
function readManifest() {
  const file = process.env.CRLOGIN_ACTION_MANIFEST || path.join(__dirname, 'release.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read the release manifest ${file}: ${e.message}`);
  }
}

// The manifest's asset for this runner, or the reason there is none to download.
function releaseAsset(manifest, version) {
  if (manifest.version !== version) return { skip: `the release manifest is for ${manifest.version}, not ${version}` };
  const key = platformKey();
  const name = (manifest.assets || {})[key];
  if (!name) return { skip: `the release manifest has no asset for ${key}` };
  const sha256 = (manifest.sha256 || {})[name];
  if (!sha256) return { skip: `the release manifest has no SHA-256 for ${name}` };
  const url = new URL(name, String(manifest.base_url).replace(/\/?$/, '/'));
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new Error(`refusing to download ${url}: only https (or http on loopback) is allowed`);
  }
  return { name, url, sha256: String(sha256).toLowerCase() };
}

// Downloads into memory and checks the SHA-256 before anything is written to disk.
async function download(asset, version) {
  log(`downloading ${asset.url}`);
  const res = await fetch(asset.url, { signal: AbortSignal.timeout(300_000) });
  if (!res.ok) throw new Error(`download of ${asset.url} failed: HTTP ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  const actual = crypto.createHash('sha256').update(body).digest('hex');
  if (actual !== asset.sha256) {
    throw new Error(
      `SHA-256 mismatch for ${asset.url}: expected ${asset.sha256}, got ${actual}. ` +
        'The download was discarded and nothing was run.',
    );
  }
  const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), `crlogin-bin-${version}-`));
  const bin = path.join(dir, EXE);
  fs.writeFileSync(bin, body, { mode: 0o600 });
  fs.chmodSync(bin, 0o755);
  return bin;
}

function build() {
  const manifest = path.join(ACTION_ROOT, 'Cargo.toml');
  const targetDir = path.join(ACTION_ROOT, 'target');
  const args = ['build', '--release', '--locked', '--manifest-path', manifest, '--target-dir', targetDir];
  log(`building from source: cargo ${args.join(' ')}`);
  // cargo's stdout goes to stderr too: this step's stdout is for workflow commands.
  const r = spawnSync('cargo', args, { stdio: ['ignore', 2, 2], env: baseEnv() });
  if (r.error) throw new Error(`cannot run cargo to build crlogin from source: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`cargo build failed (exit ${r.status ?? r.signal})`);
  return path.join(targetDir, 'release', EXE);
}

// 1. crlogin on PATH at the requested version; 2. the release asset, checksum-verified;
// 3. a build of the action's own source.
async function resolveBinary() {
  const source = sourceVersion();
  const version = input('version').trim().replace(/^v/, '') || source;

  const onPath = findOnPath(EXE);
  if (onPath) {
    const found = binaryVersion(onPath);
    if (found === version) {
      log(`using ${onPath} (crlogin ${found}, on PATH)`);
      return onPath;
    }
    log(`not using ${onPath}: it is crlogin ${found ?? '(unknown version)'}, not ${version}`);
  }

  const asset = releaseAsset(readManifest(), version);
  if (!asset.skip) {
    const bin = await download(asset, version);
    log(`using ${bin} (release asset ${asset.name}, SHA-256 verified)`);
    return bin;
  }
  log(`not downloading: ${asset.skip}`);

  if (version !== source) {
    throw new Error(
      `crlogin ${version} is not on PATH and cannot be downloaded, and this action's source is ${source}; ` +
        `use the action at the tag for ${version}, or install crlogin ${version} before this step`,
    );
  }
  const bin = build();
  log(`using ${bin} (built from source)`);
  return bin;
}

// Appends name=value to $GITHUB_STATE; the post step gets it as STATE_<name>.
function saveState(name, value) {
  const file = process.env.GITHUB_STATE;
  if (!file) return log(`GITHUB_STATE is not set; the post step will not find ${name}`);
  if (/[\r\n]/.test(value)) throw new Error(`cannot save state ${name}: its value is not one line`);
  fs.appendFileSync(file, `${name}=${value}${os.EOL}`);
}

// Runs crlogin with stdio inherited and returns its exit code.
function runCrlogin(bin, command, env) {
  const r = spawnSync(bin, [command], { stdio: 'inherit', env });
  if (r.error) throw new Error(`cannot run ${bin}: ${r.error.message}`);
  return r.status ?? 1;
}

function escapeData(s) {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

// Runs a step and exits with its code; an error becomes a ::error annotation and exit 1.
function runStep(step) {
  step().then(
    (code) => process.exit(code),
    (e) => {
      process.stdout.write(`::error title=crlogin action::${escapeData(e.message)}${os.EOL}`);
      process.exit(1);
    },
  );
}

module.exports = { baseEnv, boolInput, log, loginEnv, resolveBinary, runCrlogin, runStep, saveState };
