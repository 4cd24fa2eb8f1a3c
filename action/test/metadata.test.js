'use strict';
// action.yml, the launcher, the docs and the examples name the same inputs and outputs.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const { ROOT } = require('./helpers');

const read = (...p) => fs.readFileSync(path.join(ROOT, ...p), 'utf8');
const actionYml = read('action.yml');

// The keys two spaces in under a top-level section of action.yml.
function section(name) {
  const body = new RegExp(`^${name}:\\n((?:  .*\\n|\\n)*)`, 'm').exec(actionYml)[1];
  return [...body.matchAll(/^  ([a-z][a-z-]*):/gm)].map((m) => m[1]).sort();
}

const inputs = section('inputs');
const outputs = section('outputs');

test('action.yml runs the launcher on node24, post always', () => {
  assert.match(actionYml, /^runs:\n  using: node24\n  main: action\/main\.js\n  post: action\/post\.js\n  post-if: always\(\)\n/m);
});

test('the launcher reads every input of action.yml, and no other', () => {
  const js = ['launcher.js', 'main.js', 'post.js'].map((f) => read('action', f)).join('\n');
  const read_ = [...js.matchAll(/(?:input|boolInput|listInput)\('([a-z-]+)'/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(read_)].sort(), inputs);
});

test('the book\'s GitHub Actions page documents every input and output', () => {
  const doc = read('docs', 'src', 'ci', 'github-actions.md');
  for (const name of [...inputs, ...outputs]) assert.match(doc, new RegExp(`^\\| \`${name}\` \\|`, 'm'), name);
});

test('the examples pass only inputs action.yml declares', () => {
  const dir = path.join(ROOT, 'examples', 'github');
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yml'))) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const step = /^( +)- (?:id: \w+\n\1  )?uses: \.\/\n\1  with:\n((?:\1    .*\n)+)/m.exec(text);
    assert.ok(step, `${file} has no \`uses: ./\` step with inputs`);
    for (const [, key] of step[2].matchAll(/^ +([a-z][a-z-]*):/gm)) assert.ok(inputs.includes(key), `${file}: ${key}`);
  }
});
