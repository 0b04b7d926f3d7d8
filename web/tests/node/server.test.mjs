// Tests of the project's static server (web/server.mjs), which the demo, the browser
// tests and the web benchmark use: the bytes it answers with, gzip only where the
// browser accepts it and it saves bytes, the Content-Type the browser's streaming
// wasm compile needs, HEAD, refused paths, and a file changed while it runs.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { startServer } from '../../server.mjs';
import { pkgDir, root } from '../paths.mjs';

let server;
const scratchDir = join(root, 'web', 'bench', 'peers');
const scratch = join(scratchDir, 'server-test.csv');

before(async () => {
  server = await startServer();
});
after(async () => {
  rmSync(scratch, { force: true });
  await server?.close();
});

/** GET (or `method`) `path` with these request headers; the response and its body bytes. */
async function get(path, headers = {}, method = 'GET') {
  const response = await fetch(new URL(path, server.url), { method, headers });
  return { response, body: Buffer.from(await response.arrayBuffer()) };
}

test('the engine wasm is sent gzip-compressed to a browser that accepts gzip, as application/wasm', async () => {
  const file = readFileSync(join(pkgDir, 'edgewood_simd_bg.wasm'));
  // fetch() would decompress: ask with raw headers through node:http instead.
  const { request } = await import('node:http');
  const raw = await new Promise((ok, fail) => {
    request(new URL('pkg/edgewood_simd_bg.wasm', server.url), { headers: { 'accept-encoding': 'gzip, deflate' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', fail).end();
  });
  assert.equal(raw.headers['content-type'], 'application/wasm');
  assert.equal(raw.headers['content-encoding'], 'gzip');
  assert.equal(Number(raw.headers['content-length']), raw.body.length);
  assert.ok(raw.body.length < file.length / 2, `compressed to ${raw.body.length} of ${file.length} bytes`);
  assert.deepEqual(gunzipSync(raw.body), file);
});

test('without gzip in Accept-Encoding the file is sent as it is', async () => {
  const file = readFileSync(join(pkgDir, 'edgewood_simd_bg.wasm'));
  const { response, body } = await get('pkg/edgewood_simd_bg.wasm', { 'accept-encoding': 'identity' });
  assert.equal(response.headers.get('content-encoding'), null);
  assert.equal(Number(response.headers.get('content-length')), file.length);
  assert.deepEqual(body, file);
});

test('a file too small to gain from gzip is sent as it is; HEAD sends headers only', async () => {
  const { response, body } = await get('bench/engines/baseline.mjs', { 'accept-encoding': 'gzip' });
  assert.equal(response.headers.get('content-encoding'), null);
  assert.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.deepEqual(body, readFileSync(join(root, 'web', 'bench', 'engines', 'baseline.mjs')));
  const head = await get('pkg/index.js', { 'accept-encoding': 'identity' }, 'HEAD');
  assert.equal(head.response.status, 200);
  assert.equal(Number(head.response.headers.get('content-length')), readFileSync(join(pkgDir, 'index.js')).length);
  assert.equal(head.body.length, 0);
});

test('paths outside the served directories and missing files are 404', async () => {
  for (const path of ['pkg/../../Cargo.toml', 'pkg/%2e%2e/%2e%2e/Cargo.toml', 'pkg/no-such-file.js', 'pkg/%ZZ', 'pkg/a%00b']) {
    const { response } = await get(path);
    assert.equal(response.status, 404, path);
  }
});

test('a file that changes while the server runs is sent as it now is', async () => {
  mkdirSync(scratchDir, { recursive: true });
  writeFileSync(scratch, 'a,b\n1,2\n');
  assert.equal((await get('bench/peers/server-test.csv')).body.toString(), 'a,b\n1,2\n');
  writeFileSync(scratch, 'a,b\n1,2\n3,4\n'); // a new size: read again
  assert.equal((await get('bench/peers/server-test.csv')).body.toString(), 'a,b\n1,2\n3,4\n');
});
