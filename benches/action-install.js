'use strict';
// The GitHub Action's time to first login, run the way the runner runs it (action/main.js with
// INPUT_* and the file-command files): from a cold tool cache (reading the release manifest and
// downloading the binary from a loopback "release", tests/release/make-release.sh's layout,
// verifying its SHA-256) and from a warm one (the release manifest only: the cached binary is
// checked against it and run from a private copy). Each login is a username/password
// login writing docker's, helm's and podman's files, to a real registry on loopback
// (docker-registry, htpasswd) which the action asks first (verify, on by default); the warm run
// is also timed with verify: false, for the cost of that default. Prints a markdown table;
// asserts nothing.
//   node benches/action-install.js BINARY [RUNS]   (BINARY: the x86_64 release asset)

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const h = require('../action/test/helpers');

const [binary, runsArg] = process.argv.slice(2);
const RUNS = Number(runsArg || 20);
const VERSION = /^version\s*=\s*"([^"]+)"/m.exec(fs.readFileSync(path.join(h.ROOT, 'Cargo.toml'), 'utf8'))[1];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main() {
  if (!binary || !fs.existsSync(binary)) throw new Error('usage: node benches/action-install.js BINARY [RUNS]');
  const dir = fs.mkdtempSync(path.join(h.ROOT, 'target', 'bench-release-'));
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const file = path.join(dir, path.basename(req.url));
    if (!fs.existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200).end(fs.readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}/`;
  execFileSync('bash', [path.join(h.ROOT, 'tests/release/make-release.sh'), dir, VERSION, base, `x86_64-unknown-linux-musl=${binary}`]);
  const cache = path.join(dir, 'toolcache');
  const cleanups = [];
  const password = h.canary('bench-password');
  const registry = await h.startRegistry({ after: (f) => cleanups.push(f) }, 'bench', password);

  const login = async (label, verify = 'true') => {
    const job = h.newJob();
    const env = h.stepEnv(
      job,
      { username: 'bench', password, registry, verify },
      { RUNNER_TOOL_CACHE: cache, CRLOGIN_ACTION_MANIFEST: `${base}crlogin-release.json` },
    );
    const start = process.hrtime.bigint();
    const r = await h.runNode(h.MAIN, env);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    job.cleanup();
    if (r.status !== 0) throw new Error(`${label}: main.js exited ${r.status}:\n${r.stderr}${r.stdout}`);
    return ms;
  };

  const cold = [];
  const warm = [];
  const unverified = [];
  let coldRequests = 0;
  for (let i = 0; i < RUNS; i++) {
    fs.rmSync(cache, { recursive: true, force: true });
    const before = requests;
    cold.push(await login('cold'));
    coldRequests = requests - before;
    const beforeWarm = requests;
    warm.push(await login('warm'));
    unverified.push(await login('warm, verify: false', 'false'));
    // The release manifest only, once per warm run: the cached binary is checked against it.
    if (requests !== beforeWarm + 2) throw new Error(`the two warm runs made ${requests - beforeWarm} requests, not 2 (the manifest each)`);
  }
  server.close();
  cleanups.forEach((f) => f());
  fs.rmSync(dir, { recursive: true, force: true });
  const size = fs.statSync(binary).size;
  const fmt = (xs) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
  console.log('| benchmark | result | runs | goal |');
  console.log('|---|---|---|---|');
  console.log(`| action, cold tool cache: manifest + ${(size / 1e6).toFixed(2)} MB download over loopback, SHA-256, cache, login (${coldRequests} requests) | ${fmt(cold)} | ${RUNS} | ≤ 1 s ${median(cold) <= 1000 ? '✔' : '✘'} |`);
  console.log(`| action, warm tool cache: manifest, cached binary re-hashed against it, private copy, login asking the registry first (the default) | ${fmt(warm)} | ${RUNS} | ≤ 300 ms ${median(warm) <= 300 ? '✔' : '✘'} |`);
  console.log(`| action, warm tool cache, \`verify: false\` | ${fmt(unverified)} | ${RUNS} | |`);
  console.log(`| cost of the default verification (warm − \`verify: false\`) | ${(median(warm) - median(unverified)).toFixed(0)} ms | ${RUNS} | |`);
}

main().catch((e) => {
  console.error(`action-install bench: ${e.message}`);
  process.exit(1);
});
