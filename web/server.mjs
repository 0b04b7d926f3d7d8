// The project's own static server for the demo page, its browser tests and the web
// benchmark. Binds 127.0.0.1 only. Routes:
//   /          → web/demo/        (the page)
//   /pkg/      → wasm/pkg/        (the built npm package)
//   /bench/    → web/bench/       (benchmark pages and generated peers)
//   /ort/      → onnxruntime-web's dist/ (benchmark peer)
// Run `node web/server.mjs [--port N]`, or import { startServer } in a test.

import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
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
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-store',
      // Cross-origin isolation gives pages 5 µs timers (instead of 100 µs), which the
      // web benchmark needs; every resource here is same-origin, so nothing breaks.
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
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
