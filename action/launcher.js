'use strict';
// The action's launcher: finds the crlogin binary and maps the action's inputs to the
// environment variables of docs/src/ci-contract.md. Everything else is the binary's job.
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
  // On by default: a registry that refuses the credential fails this step, with nothing written.
  env.CRLOGIN_VERIFY = boolInput('verify', true) ? 'true' : 'false';
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
  // stderr, where the binary's notes and ::add-mask:: lines go too; stdout is the binary's data.
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

// The first executable `name` in an absolute PATH entry. An empty or relative entry (`::`, a
// trailing `:`, `.`) would find a file in the checkout, so it is skipped, as Go's exec.LookPath
// (exec.ErrDot) and crlogin's own helper search skip it.
function findOnPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue;
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

// `crlogin --version` prints `crlogin X.Y.Z (commit date, target)` (older builds: `crlogin X.Y.Z`).
function binaryVersion(bin) {
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 });
    const m = /^crlogin (\S+)(?: \([^)]*\))?$/.exec(out.trim());
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

// Only https, or http to this machine (tests and local mirrors).
function checkedUrl(url, what) {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new Error(`refusing to download ${what} ${url}: only https (or http on loopback) is allowed`);
  }
  return url;
}

const MAX_MANIFEST_BYTES = 1 << 20;
const MAX_BINARY_BYTES = 128 << 20;
const ATTEMPTS = 4;

// How to get past a failed download, for every download error.
function downloadHint(version) {
  return (
    `check that crlogin ${version} is released (input version), and if the runner reaches the internet ` +
    'through a proxy set HTTPS_PROXY and NODE_USE_ENV_PROXY=1 for this step; or install crlogin before ' +
    'this step (it is then used from PATH)'
  );
}

// GETs `url` into memory: up to ATTEMPTS tries on network errors, 5xx and 429 only, at most
// `limit` bytes. One error naming the URL, the status or network cause, and the fix.
async function fetchBytes(url, limit, version, hint = downloadHint) {
  let cause = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, 250 * 2 ** (attempt - 2)));
    let res;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(120_000), redirect: 'follow' });
    } catch (e) {
      cause = networkCause(e);
      continue;
    }
    if (res.ok) {
      checkedUrl(new URL(res.url || url), 'after a redirect,');
      const declared = Number(res.headers.get('content-length') || 0);
      if (declared > limit) throw new Error(`download of ${url} failed: ${declared} bytes is more than ${limit}`);
      const body = await readLimited(res, limit, url);
      if (body) return body;
      cause = 'the connection closed before the whole file arrived';
      continue;
    }
    cause = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    await res.body?.cancel();
    if (!(res.status >= 500 || res.status === 429)) break;
  }
  throw new Error(`download of ${url} failed: ${cause}; ${hint(version)}`);
}

// The body, or null when the stream broke off; an error when it grows past `limit`.
async function readLimited(res, limit, url) {
  const chunks = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += chunk.length;
      if (size > limit) throw new Error(`download of ${url} failed: more than ${limit} bytes`);
      chunks.push(chunk);
    }
  } catch (e) {
    if (/more than/.test(e.message)) throw e;
    return null;
  }
  return Buffer.concat(chunks);
}

// fetch's "fetch failed" says nothing; the cause (ECONNREFUSED, ENOTFOUND, a TLS error) does.
function networkCause(e) {
  const c = e.cause || e;
  return [c.code, c.message].filter(Boolean).join(' ') || String(e);
}

// Each runner's asset in a release directory (scripts/release-manifest.sh names the same).
const PLATFORM_ASSETS = {
  'Linux-X64': 'crlogin-x86_64-unknown-linux-musl',
  'Linux-ARM64': 'crlogin-aarch64-unknown-linux-musl',
  'macOS-X64': 'crlogin-x86_64-apple-darwin',
  'macOS-ARM64': 'crlogin-aarch64-apple-darwin',
  'Windows-X64': 'crlogin-x86_64-pc-windows-msvc.exe',
};

// What to do when a download from input release-url fails.
function mirrorHint(version) {
  return (
    `check input release-url: it must be the directory with crlogin ${version}'s release files ` +
    '(SHA256SUMS and crlogin-TARGET, as on the GitHub release); behind a proxy set HTTPS_PROXY and ' +
    'NODE_USE_ENV_PROXY=1 for this step; or install crlogin before this step'
  );
}

// Input release-url: a plain directory of release assets (a mirror), as install.sh --base-url
// takes it. Its SHA256SUMS gives the asset's SHA-256; no manifest is needed.
async function mirrorAsset(base, version) {
  let dir;
  try {
    dir = new URL(base.replace(/\/?$/, '/'));
  } catch {
    throw new Error(`input release-url is not a URL: give the directory with the release files, e.g. https://mirror.example/crlogin/v${version}/`);
  }
  checkedUrl(dir, 'from input release-url');
  const key = platformKey();
  const name = PLATFORM_ASSETS[key] || (key === 'Windows-ARM64' ? PLATFORM_ASSETS['Windows-X64'] : undefined);
  if (!name) {
    throw new Error(
      `crlogin has no binary for ${key}; it has ${Object.keys(PLATFORM_ASSETS).join(', ')}: ` +
        'use a runner of one of those, or install crlogin before this step',
    );
  }
  const sumsUrl = new URL('SHA256SUMS', dir);
  log(`reading ${sumsUrl} (input release-url)`);
  const sums = (await fetchBytes(sumsUrl, MAX_MANIFEST_BYTES, version, mirrorHint)).toString('utf8');
  const line = sums
    .split(/\r?\n/)
    .map((l) => /^([0-9a-fA-F]{64}) [ *](\S+)$/.exec(l.trim()))
    .find((m) => m && m[2] === name);
  if (!line) throw new Error(`${sumsUrl} has no SHA-256 for ${name}: ${mirrorHint(version)}`);
  return { name, url: new URL(name, dir), sha256: line[1].toLowerCase(), hint: mirrorHint };
}

// The release manifest: CRLOGIN_ACTION_MANIFEST (a file, or an https URL), else the
// crlogin-release.json asset of this action's own release (where `uses: OWNER/crlogin@vX.Y.Z`
// was loaded from: GITHUB_ACTION_REPOSITORY on GITHUB_SERVER_URL).
async function readManifest(version) {
  const named = process.env.CRLOGIN_ACTION_MANIFEST;
  let text;
  if (named && !/^https?:\/\//.test(named)) {
    try {
      text = fs.readFileSync(named, 'utf8');
    } catch (e) {
      throw new Error(`cannot read the release manifest ${named} (CRLOGIN_ACTION_MANIFEST): ${e.message}`);
    }
  } else {
    const repo = process.env.GITHUB_ACTION_REPOSITORY;
    if (!named && !repo) {
      throw new Error(
        `crlogin ${version} is not on PATH and this action was not loaded from a repository with releases ` +
          '(uses: ./ or a local path): install crlogin before this step, or set build-from-source: true',
      );
    }
    const server = process.env.GITHUB_SERVER_URL || 'https://github.com';
    const url = checkedUrl(new URL(named || `${server}/${repo}/releases/download/v${version}/crlogin-release.json`), 'the release manifest');
    log(`reading the release manifest ${url}`);
    text = (await fetchBytes(url, MAX_MANIFEST_BYTES, version)).toString('utf8');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`the release manifest ${named || 'of this release'} is not JSON: ${e.message}`);
  }
}

// The manifest's asset for this runner: its name, URL and SHA-256.
function releaseAsset(manifest, version) {
  if (manifest.version !== version) {
    throw new Error(`the release manifest is for crlogin ${manifest.version}, not ${version}`);
  }
  const key = platformKey();
  const assets = manifest.assets || {};
  // Windows on ARM64 runs x64 programs under emulation (install.ps1 does the same).
  const name = assets[key] || (key === 'Windows-ARM64' ? assets['Windows-X64'] : undefined);
  if (!name) {
    throw new Error(
      `crlogin ${version} has no binary for ${key}; it has ${Object.keys(assets).join(', ') || 'none'}: ` +
        'use a runner of one of those, or install crlogin before this step',
    );
  }
  const sha256 = String((manifest.sha256 || {})[name] || '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`the release manifest has no SHA-256 for ${name}`);
  const url = checkedUrl(new URL(name, String(manifest.base_url).replace(/\/?$/, '/')), 'crlogin from');
  return { name, url, sha256 };
}

const sha256Of = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

// Where this runner keeps tools across jobs (actions/tool-cache's layout: TOOL/VERSION/ARCH and
// a VERSION/ARCH.complete marker written last); null when the runner has none. On a
// self-hosted runner the cache outlives jobs and repositories, so any earlier job may have
// written there: what it holds is trusted only when it has the release manifest's SHA-256.
function toolCacheDir(version) {
  const root = process.env.RUNNER_TOOL_CACHE;
  return root ? path.join(root, 'crlogin', version, os.arch()) : null;
}

// The cached binary's bytes when they have the release's SHA-256 (`sha256`, from the
// manifest), else null. The bytes are read once and hashed; the caller runs a private copy of
// exactly these bytes, so swapping the cached file after this check changes nothing.
function cachedRelease(dir, sha256) {
  if (!dir || !fs.existsSync(`${dir}.complete`)) return null;
  const bin = path.join(dir, EXE);
  let body;
  try {
    body = fs.readFileSync(bin);
  } catch {
    return null; // incomplete: download again
  }
  if (sha256Of(body) === sha256) return body;
  log(`ignoring the cached ${bin}: its SHA-256 is not the release manifest's`);
  return null;
}

// Writes checked bytes into a fresh directory only this user may open (under RUNNER_TEMP, which
// the runner empties after the job) and returns the program's path: the file that runs is the
// file that was checked.
function privateCopy(body, version) {
  const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), `crlogin-bin-${version}-`));
  fs.chmodSync(dir, 0o700);
  const bin = path.join(dir, EXE);
  fs.writeFileSync(bin, body, { mode: 0o700, flag: 'wx' });
  return bin;
}

// Downloads the asset into memory and checks its SHA-256 before anything is written to disk;
// then saves it in the tool cache for later jobs (which check it again). Returns the bytes.
async function download(asset, version) {
  log(`downloading ${asset.url}`);
  const body = await fetchBytes(asset.url, MAX_BINARY_BYTES, version, asset.hint);
  const actual = sha256Of(body);
  if (actual !== asset.sha256) {
    throw new Error(
      `SHA-256 mismatch for ${asset.url}: expected ${asset.sha256}, got ${actual}. ` +
        `The download was discarded and nothing was run.${asset.hint ? ` ${asset.hint(version)}` : ''}`,
    );
  }
  const cache = toolCacheDir(version);
  if (cache) {
    try {
      fs.mkdirSync(cache, { recursive: true, mode: 0o755 });
      const bin = path.join(cache, EXE);
      // Written under a temporary name and renamed: a concurrent job never reads half a file.
      const tmp = `${bin}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, body, { mode: 0o755 });
      fs.renameSync(tmp, bin);
      fs.writeFileSync(`${cache}.complete`, '');
    } catch (e) {
      log(`cannot save crlogin in the tool cache ${cache} (${e.code || e.message}); it is downloaded again next time`);
    }
  }
  return body;
}

function build() {
  const manifest = path.join(ACTION_ROOT, 'Cargo.toml');
  const targetDir = path.join(ACTION_ROOT, 'target');
  const args = ['build', '--release', '--locked', '--manifest-path', manifest, '--target-dir', targetDir];
  log(`building from source (build-from-source: true): cargo ${args.join(' ')}`);
  // cargo's stdout goes to stderr too: this step's stdout is for workflow commands.
  const r = spawnSync('cargo', args, { stdio: ['ignore', 2, 2], env: baseEnv() });
  if (r.error?.code === 'ENOENT') {
    throw new Error(
      'build-from-source is true but cargo is not on PATH: install Rust before this step ' +
        '(or install crlogin, or drop build-from-source to download the release binary)',
    );
  }
  if (r.error) throw new Error(`cannot run cargo to build crlogin from source: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`cargo build failed (exit ${r.status ?? r.signal})`);
  return path.join(targetDir, 'release', EXE);
}

// 1. crlogin on PATH at the requested version; 2. with build-from-source, a build of the
// action's own source; 3. the runner's tool cache, when it holds the release manifest's binary;
// 4. the release asset, checksum-verified. 3 and 4 run a private copy of the checked bytes.
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

  if (boolInput('build-from-source', false)) {
    if (version !== source) {
      throw new Error(`build-from-source builds this action's source, crlogin ${source}, not ${version}: use the action at the tag for ${version}`);
    }
    const bin = build();
    log(`using ${bin} (built from source)`);
    return bin;
  }

  const mirror = input('release-url').trim();
  const asset = mirror ? await mirrorAsset(mirror, version) : releaseAsset(await readManifest(version), version);
  const cached = cachedRelease(toolCacheDir(version), asset.sha256);
  if (cached) {
    const bin = privateCopy(cached, version);
    log(`using ${bin} (tool cache, SHA-256 of release asset ${asset.name} verified)`);
    return bin;
  }
  const bin = privateCopy(await download(asset, version), version);
  log(`using ${bin} (release asset ${asset.name}, SHA-256 verified)`);
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
