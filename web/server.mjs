// The project's own static server for the demo page, its browser tests and the web
// benchmark. Binds 127.0.0.1 only. Routes:
//   /          → web/demo/        (the page)
//   /pkg/      → wasm/pkg/        (the built npm package)
//   /bench/    → web/bench/       (benchmark pages and generated peers)
//   /ort/      → onnxruntime-web's dist/ (benchmark peer)
// Run `node web/server.mjs [--port N]`, or import { startServer } in a test.
//
// It answers as a production static host does: each file from memory in one write
// (read once, again when it changes; not a stream from disk per request, several
// thread-pool round trips per file), gzip-compressed when the browser accepts it and
// that saves bytes (the package's sizes are quoted gzipped), with the right
// Content-Type (application/wasm lets the browser compile the engine as it arrives).

import { createServer } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const ROUTES = [
  ['/pkg/', join(here, '..', 'wasm', 'pkg')],
  ['/bench/', join(here, 'bench')],
  ['/ort/', join(here, 'node_modules', 'onnxruntime-web', 'dist')],
  ['/', join(here, 'demo')],
];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.csv': 'text/csv; charset=utf-8',
  '.ewm': 'application/octet-stream',
  '.onnx': 'application/octet-stream',
};

// Files worth compressing (text and WebAssembly), and the smallest body worth it.
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.wasm', '.svg', '.csv']);
const MIN_GZIP = 1024;

/** A served file's bytes and, once asked for, its gzip; keyed by path. */
const files = new Map();

/** The current bytes of `file` (re-read when its size or time changes). */
function cached(file) {
  const { size, mtimeMs } = statSync(file);
  let entry = files.get(file);
  if (!entry || entry.size !== size || entry.mtimeMs !== mtimeMs) {
    entry = { size, mtimeMs, body: readFileSync(file), gzip: undefined };
    files.set(file, entry);
  }
  return entry;
}

/** The gzip -9 of a cached file, or null where it is not worth sending compressed. */
function gzipOf(file, entry) {
  if (entry.gzip === undefined) {
    const gz = COMPRESSIBLE.has(extname(file)) && entry.body.length >= MIN_GZIP ? gzipSync(entry.body, { level: 9 }) : null;
    entry.gzip = gz && gz.length < entry.body.length ? gz : null;
  }
  return entry.gzip;
}

/** Maps a URL path to a file inside one of the served directories, or null. */
export function resolve(urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null;
  }
  if (path.includes('\0')) return null;
  for (const [prefix, dir] of ROUTES) {
    if (!path.startsWith(prefix)) continue;
    let file = normalize(join(dir, path.slice(prefix.length)));
    if (file !== dir && !file.startsWith(dir + sep)) return null; // no ../ escapes
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      if (statSync(file).isFile()) return file;
    } catch {
      return null;
    }
    return null;
  }
  return null;
}

/**
 * Starts the server on 127.0.0.1. `port` 0 picks a free port. Resolves to
 * `{ url, close }`; `close()` stops it (tests call it so that nothing outlives them).
 */
export function startServer({ port = 0 } = {}) {
  const server = createServer((req, res) => {
    const file = req.method === 'GET' || req.method === 'HEAD' ? resolve(req.url) : null;
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    let entry;
    try {
      entry = cached(file);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '') ? gzipOf(file, entry) : null;
    const body = gzip ?? entry.body;
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      vary: 'accept-encoding',
      'cache-control': 'no-store',
      // Cross-origin isolation gives pages 5 µs timers (instead of 100 µs), which the
      // web benchmark needs; every resource here is same-origin, so nothing breaks.
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const { port: actual } = server.address();
      ok({
        url: `http://127.0.0.1:${actual}/`,
        close: () => new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8080;
  const { url } = await startServer({ port });
  console.log(`Edgewood demo: ${url}  (Ctrl-C to stop)`);
}
