// The web benchmark (not a test): the `edgewood` package against onnxruntime-web (wasm
// backend, one thread) and m2cgen-generated JavaScript on the Iris RF100 model, in one
// headless Chromium run. Prints bytes shipped (raw, gzip -9), cold start (navigation
// start to the end of the first prediction, fresh profile each time: nothing cached),
// single-row latency (median and p99 over ~0.5 ms blocks of calls: the browser's timer
// is 5 µs) and batch throughput, each with the peer/edgewood ratio.
//
// Cold start is measured two ways, the engines taking turns:
// - "new browser": the browser was just launched and this is its first navigation to
//   the origin, so the time includes starting a renderer process;
// - "running browser": a blank page of the same origin was shown first (the renderer
//   is up), then the benchmark page is navigated to, still with nothing cached.
// For the running browser it also prints where the time goes: the page itself
// (navigation start → its module script runs), the engine's files and set-up, the
// WebAssembly compile/instantiate calls inside that, and the first prediction.
// Run by `cargo xtask bench-web`, which first builds the package and writes the peers
// (make_peers.py).

import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, resolve } from '../server.mjs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const fixtures = join(root, 'tests', 'fixtures');
const ENGINES = ['edgewood', 'ort', 'm2cgen'];
const LABEL = { edgewood: 'edgewood (this package)', ort: 'onnxruntime-web 1.30 (wasm, 1 thread)', m2cgen: 'm2cgen 0.10 JavaScript' };
const COLD_RUNS = Number(process.env.COLD_RUNS ?? 5);
const BATCH = 10_000;
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

// The .ewm the edgewood adapter fetches: the Iris joblib converted by the package itself.
const { convert } = await import(join(root, 'wasm', 'pkg', 'convert-node.js'));
writeFileSync(join(here, 'peers', 'iris_rf100.ewm'), await convert(readFileSync(join(fixtures, 'iris_rf100.joblib')), {
  featureNames: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
  classNames: ['setosa', 'versicolor', 'virginica'],
}));
for (const f of ['m2cgen_iris.js', 'rf_iris.onnx']) {
  if (!existsSync(join(here, 'peers', f))) throw new Error(`web/bench/peers/${f} is missing: run make_peers.py`);
}

// Fixture rows inside the Iris schema's range (the same rows for every engine).
const lines = readFileSync(join(fixtures, 'iris_rf100.input.csv'), 'utf8').trim().split('\n').slice(1);
const rows = lines.map((l) => l.split(',').map(Number)).filter((r) => r.every((v) => v >= 0 && v <= 10));

const server = await startServer();
const scratch = mkdtempSync(join(tmpdir(), 'edgewood-bench-'));
const launch = (name) => chromium.launchPersistentContext(join(scratch, name), { executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const results = Object.fromEntries(ENGINES.map((e) => [e, { cold: [], per: [], rates: [] }]));
let browserVersion = '?';

/** Installed in each warm page: calibrated single-row blocks and batch repetitions. */
function installBench({ rows, BATCH }) {
  const api = window.api;
  const prepared = api.prepare(rows);
  const call = api.async ? async (r) => await api.one(r) : (r) => api.one(r);
  const data = new Float32Array(BATCH * 4);
  for (let r = 0; r < BATCH; r++) data.set(rows[r % rows.length], r * 4);
  let k = 1;
  let i = 0;
  window.bench = {
    async setup() {
      // Warm up (JIT tiers; V8 tiers wasm up in the background and cannot switch a
      // running call) for ~300 ms per path, then size a block of k calls to ≈0.5 ms,
      // the fastest of 5 tries deciding so that one preempted try does not set k.
      const warmUntil = performance.now() + 300;
      for (let j = 0; performance.now() < warmUntil; j++) await call(prepared[j % prepared.length]);
      const batchWarm = performance.now() + 300;
      while (performance.now() < batchWarm) await api.batch(data.subarray(0, 400 * 4), 400);
      for (;;) {
        let best = Infinity;
        for (let attempt = 0; attempt < 5; attempt++) {
          const t = performance.now();
          for (let j = 0; j < k; j++) await call(prepared[j % prepared.length]);
          best = Math.min(best, performance.now() - t);
        }
        if (best > 0.5 || k > 1e5) break;
        k *= 2;
      }
      const first = await api.one(prepared[60]);
      return { k, isolated: crossOriginIsolated, check: Array.from(api.probabilities ? api.probabilities(first) : first) };
    },
    async single(blocks) {
      const per = [];
      for (let b = 0; b < blocks; b++) {
        const t = performance.now();
        if (api.async) for (let j = 0; j < k; j++) await api.one(prepared[i++ % prepared.length]);
        else for (let j = 0; j < k; j++) api.one(prepared[i++ % prepared.length]);
        per.push(((performance.now() - t) / k) * 1000);
      }
      return per;
    },
    async batch() {
      const t = performance.now();
      await api.batch(data, BATCH);
      return BATCH / ((performance.now() - t) / 1000);
    },
  };
}

/** Loads the page for `engine` in `context` and returns its start-up timings (ms). */
async function coldLoad(context, engine) {
  const page = await context.newPage();
  await page.goto(`${server.url}bench/page.html?engine=${engine}`);
  await page.waitForFunction(() => window.coldStartMs !== undefined, null, { timeout: 60_000 });
  const t = await page.evaluate(() => {
    const resources = performance.getEntriesByType('resource');
    const wasm = resources.filter((e) => e.name.endsWith('.wasm'));
    const calls = window.wasmCalls;
    return {
      total: window.coldStartMs,
      page: window.scriptStartMs,
      engine: window.readyMs - window.scriptStartMs,
      wasmDownload: wasm.length ? Math.max(...wasm.map((e) => e.responseEnd)) - Math.min(...wasm.map((e) => e.startTime)) : 0,
      wasmCompile: calls.reduce((sum, c) => sum + (c.end - c.start), 0),
      firstPredict: window.coldStartMs - window.readyMs,
      files: resources.map((e) => new URL(e.name).pathname),
    };
  });
  await page.close();
  return t;
}

try {
  // Cold starts, the engines taking turns (so that load on the machine hits all alike);
  // a fresh profile (no HTTP cache, no code cache) each time.
  for (let run = 0; run < COLD_RUNS; run++) {
    for (let j = 0; j < ENGINES.length; j++) {
      const engine = ENGINES[(run + j) % ENGINES.length];
      let context = await launch(`${engine}-${run}-new`);
      const fresh = await coldLoad(context, engine);
      await context.close();
      context = await launch(`${engine}-${run}-running`);
      const blank = await context.newPage();
      await blank.goto(`${server.url}bench/page.html`);
      const running = await coldLoad(context, engine);
      await context.close();
      results[engine].cold.push({ fresh: fresh.total, ...running });
      if (!results[engine].shipped) {
        // What the engine ships: everything but the benchmark's own page and adapter.
        const files = [...new Set(running.files.filter((u) => !u.startsWith('/bench/page.html') && !u.startsWith('/bench/engines/')))];
        const shipped = { files, raw: 0, gzip: 0 };
        for (const u of files) {
          const bytes = readFileSync(resolve(u));
          shipped.raw += bytes.length;
          shipped.gzip += gzipSync(bytes, { level: 9 }).length;
        }
        results[engine].shipped = shipped;
      }
    }
  }
  // Warm measurements: one page per engine in one browser, taking turns in rounds.
  const context = await launch('warm');
  browserVersion = context.browser()?.version() ?? '?';
  const pages = {};
  for (const engine of ENGINES) {
    const page = await context.newPage();
    await page.goto(`${server.url}bench/page.html?engine=${engine}`);
    await page.waitForFunction(() => window.coldStartMs !== undefined, null, { timeout: 60_000 });
    await page.evaluate(installBench, { rows, BATCH });
    pages[engine] = page;
  }
  for (const engine of ENGINES) {
    await pages[engine].bringToFront();
    Object.assign(results[engine], await pages[engine].evaluate(() => window.bench.setup()));
  }
  for (let round = 0; round < 8; round++) {
    for (const engine of ENGINES) {
      await pages[engine].bringToFront();
      results[engine].per.push(...(await pages[engine].evaluate(() => window.bench.single(50))));
      results[engine].rates.push(await pages[engine].evaluate(() => window.bench.batch()));
    }
  }
  await context.close();
} finally {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
}
for (const engine of ENGINES) {
  const r = results[engine];
  const per = [...r.per].sort((a, b) => a - b);
  const cold = (key) => median(r.cold.map((c) => c[key]));
  Object.assign(r, {
    coldFreshMs: cold('fresh'),
    coldMs: cold('total'),
    coldParts: Object.fromEntries(['page', 'engine', 'wasmDownload', 'wasmCompile', 'firstPredict'].map((k) => [k, cold(k)])),
    medianUs: per[Math.floor(per.length / 2)],
    p99Us: per[Math.floor(per.length * 0.99)],
    rowsPerSec: median(r.rates),
  });
}

const e = results.edgewood;
const fmt = (v, d = 1) => (v >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(d));
const ratio = (peer, ours, higherIsBetter = false) => {
  const r = higherIsBetter ? ours / peer : peer / ours;
  return `${r.toFixed(r < 1 ? 2 : 1)}×`;
};
const table = [
  '| engine | shipped raw | shipped gzip | cold start, new browser | cold start, running browser | 1 row median | 1 row p99 | batch 10k rows/s |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
];
for (const name of ENGINES) {
  const r = results[name];
  table.push(`| ${LABEL[name]} | ${fmt(r.shipped.raw / 1024)} KB | ${fmt(r.shipped.gzip / 1024)} KB | ${fmt(r.coldFreshMs)} ms | ${fmt(r.coldMs)} ms | ${r.medianUs.toFixed(2)} µs | ${r.p99Us.toFixed(2)} µs | ${fmt(r.rowsPerSec)} |`);
}
table.push('', '| peer ÷ edgewood (>1: edgewood better) | shipped raw | shipped gzip | cold, new browser | cold, running browser | 1 row median | 1 row p99 | batch |', '|---|---:|---:|---:|---:|---:|---:|---:|');
for (const name of ENGINES.slice(1)) {
  const r = results[name];
  table.push(`| ${LABEL[name]} | ${ratio(r.shipped.raw, e.shipped.raw)} | ${ratio(r.shipped.gzip, e.shipped.gzip)} | ${ratio(r.coldFreshMs, e.coldFreshMs)} | ${ratio(r.coldMs, e.coldMs)} | ${ratio(r.medianUs, e.medianUs)} | ${ratio(r.p99Us, e.p99Us)} | ${ratio(r.rowsPerSec, e.rowsPerSec, true)} |`);
}
table.push('', 'Where the cold start goes in the running browser (medians, ms; the engine\'s set-up includes its wasm download and compile):', '',
  '| engine | navigation → page script | engine files + set-up | of which wasm download | of which wasm compile + instantiate | first prediction | total |',
  '|---|---:|---:|---:|---:|---:|---:|');
for (const name of ENGINES) {
  const p = results[name].coldParts;
  table.push(`| ${LABEL[name]} | ${p.page.toFixed(1)} | ${p.engine.toFixed(1)} | ${p.wasmDownload.toFixed(1)} | ${p.wasmCompile.toFixed(1)} | ${p.firstPredict.toFixed(2)} | ${results[name].coldMs.toFixed(1)} |`);
}
table.push('', `Chromium ${browserVersion}, load average during the run: ${loadavg().map((v) => v.toFixed(1)).join(' ')} on ${cpus().length} cores.`);
const text = table.join('\n');
console.log(text);
for (const name of ENGINES) {
  console.log(`${name}: ships ${[...new Set(results[name].shipped.files)].join(', ')}; cold runs (new / running browser) ${results[name].cold.map((c) => `${c.fresh.toFixed(0)}/${c.total.toFixed(0)}`).join(', ')} ms; blocks of ${results[name].k} calls (isolated timers: ${results[name].isolated}); check ${results[name].check.map((v) => v.toFixed(3)).join(' ')}`);
}
mkdirSync(join(root, 'artifacts'), { recursive: true });
writeFileSync(join(root, 'artifacts', 'bench-web.md'), text + '\n');
writeFileSync(join(root, 'artifacts', 'bench-web.json'), JSON.stringify(results, null, 2));
