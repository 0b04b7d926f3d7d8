// The web benchmark (not a test): the `edgewood` package against onnxruntime-web (wasm
// backend, one thread) and m2cgen-generated JavaScript on the Iris RF100 model, in one
// headless Chromium run. Prints bytes shipped (raw, gzip -9), cold start (navigation
// start to the end of the first prediction, fresh profile each time: nothing cached),
// single-row latency (median and p99 over ~0.5 ms blocks of calls: the browser's timer
// is 5 µs) and batch throughput, each with the peer/edgewood ratio.
//
// A fourth "engine", baseline, has no engine at all (its prediction returns fixed
// numbers): its cold start is Chromium's own floor, navigation to a page whose module
// imports one tiny module, measured in the same run. Each engine's own share of its
// cold start, from the page's script starting to the first prediction's end, is its
// own column. A fifth, baseline-download (opt-in), is the baseline plus one preloaded
// download as large as edgewood's engine wasm: what those bytes alone cost a page.
//
// Cold start is measured two ways, the engines taking turns, in a Chromium launched
// for the load with no DevTools client attached (as a user's browser runs: with one,
// Chromium records the script stack of every request a script makes, and V8 re-parses
// a minified script for its source positions, ~0.5 ms of the package entry's start in
// a trace). The browser opens a blank page first (page.html), which goes on to the
// benchmark page when this script's control server says so; the page posts its
// timings back to the control server.
// - "new browser": the blank page is on `localhost`, another site, and goes on at
//   once: the benchmark page is the browser's first of its origin, so the time
//   includes starting a renderer process, and competing with the browser's own
//   start-up work;
// - "running browser": the blank page is of the same origin and goes on once the
//   browser has gone quiet (its processes used < 5% of a core over 200 ms: a freshly
//   launched Chromium spends about a second of CPU preparing its own WebUI pages, which
//   a browser that has been running for a while has long finished), still with
//   nothing cached.
// For the running browser it also prints where the time goes: the page itself
// (navigation start → its module script runs), the engine's files and set-up, how much
// of that the page spent waiting for files still downloading (the last file's response
// end after the script started), the WebAssembly compile/instantiate calls, and the
// first prediction; and for each engine's largest file when its request was queued,
// sent and answered. The engines' requests all start before the script does (the
// preloads), so the time a file was in flight is not itself part of the own share.
//
// The wall times of a cold start swing with the machine's load and with Chromium's own
// scheduling (a request queued in the browser, a response handed to the page late), so
// each engine's running-browser load is repeated with Chromium tracing itself, and
// the table gives the page's main-thread CPU from its script's start to the first
// prediction (thread time; see ownCpu): the engine's own work, apart from waiting.
//
// Chromium runs with the flags the browser tests use (no sandbox: we run as root in a
// container; no GPU; no background networking, component updates, sync or QUIC: the
// network is closed) plus, under Playwright (the warm measurements), the ones
// Playwright adds for automation, and in the cold loads those of them that bear on
// speed (BARE_ARGS). The static server runs in a process of
// its own so that Playwright's traffic on this process's event loop never delays a
// response.
// Run by `cargo xtask bench-web`, which first builds the package and writes the peers
// (make_peers.py). BENCH_ENGINES=edgewood,baseline limits a run to some engines;
// BENCH_ENGINES=edgewood,baseline,edgewood-inline adds the inlined-wasm experiment, and
// …,baseline-download the download-only page. BENCH_KEEP=1 keeps the browsers'
// profiles and the traces (their folder is printed at the end).

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';
import { resolve } from '../server.mjs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const fixtures = join(root, 'tests', 'fixtures');
const ALL = ['edgewood', 'ort', 'm2cgen', 'baseline', 'edgewood-inline', 'baseline-download'];
const DEFAULT = ['edgewood', 'ort', 'm2cgen', 'baseline'];
const ENGINES = process.env.BENCH_ENGINES ? process.env.BENCH_ENGINES.split(',') : DEFAULT;
if (!ENGINES.includes('edgewood') || ENGINES.some((e) => !ALL.includes(e))) {
  throw new Error(`BENCH_ENGINES must list edgewood and only these: ${ALL.join(', ')}`);
}
// The baselines (no engine) and the inlined-wasm experiment take part in the cold starts only.
const WARM = ENGINES.filter((e) => !['baseline', 'edgewood-inline', 'baseline-download'].includes(e));
const PEERS = WARM.filter((e) => e !== 'edgewood');
const LABEL = {
  edgewood: 'edgewood (this package)',
  ort: 'onnxruntime-web 1.30 (wasm, 1 thread)',
  m2cgen: 'm2cgen 0.10 JavaScript',
  'edgewood-inline': 'edgewood, wasm inlined as base64 (experiment)',
  baseline: 'baseline: no engine (Chromium\'s floor)',
  'baseline-download': 'baseline + a download of the engine wasm\'s size',
};
const COLD_RUNS = Number(process.env.COLD_RUNS ?? 5);
const BATCH = 10_000;
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
// What Playwright adds to those that bears on a page's speed, for the loads that run
// without it (see launchBare): no throttled timers or backgrounded renderers, no field
// trials, no extensions.
const BARE_ARGS = [
  ...ARGS, '--headless', '--disable-background-timer-throttling', '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding', '--disable-field-trial-config', '--disable-back-forward-cache',
  '--disable-dev-shm-usage', '--disable-extensions', '--no-default-browser-check', '--mute-audio', '--hide-scrollbars',
];

// The .ewm the edgewood adapter's warm check compares with Model.iris(): the Iris joblib
// converted by the package itself.
const { convert } = await import(join(root, 'wasm', 'pkg', 'convert-node.js'));
writeFileSync(join(here, 'peers', 'iris_rf100.ewm'), await convert(readFileSync(join(fixtures, 'iris_rf100.joblib')), {
  featureNames: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
  classNames: ['setosa', 'versicolor', 'virginica'],
}));
if (ENGINES.includes('edgewood-inline')) {
  // The package's browser entry with its wasm as base64 in place of the wasm's URL.
  const entry = readFileSync(join(root, 'wasm', 'pkg', 'index.js'), 'utf8');
  // (The explainer's loader after it is left as it is: the benchmark never explains.)
  // (Chromium has SIMD: the SIMD build is the one inlined.)
  // (The bundle inlines simd.js's test in place of its name: whatever it is, up to the
  // `?`; it is minified, so names, quotes and spaces may vary.)
  const locate = /(\w+)\(await (\w+)\(\{\s*module_or_path:\s*[^?]*\?\s*new URL\(["'`]edgewood_simd_bg\.wasm["'`],\s*import\.meta\.url\)\s*:\s*new URL\(["'`]edgewood_bg\.wasm["'`],\s*import\.meta\.url\)\s*\}\)/;
  if (!locate.test(entry)) throw new Error('wasm/pkg/index.js no longer locates its wasm as run.mjs expects');
  const base64 = readFileSync(join(root, 'wasm', 'pkg', 'edgewood_simd_bg.wasm')).toString('base64');
  writeFileSync(join(here, 'peers', 'edgewood_inline.js'), entry.replace(locate, (_, attach, init) => `${attach}(await ${init}({ module_or_path: Uint8Array.fromBase64("${base64}") })`));
}
if (ENGINES.includes('baseline-download')) {
  // A copy of the engine wasm, served as the engine's is; the page only downloads it.
  writeFileSync(join(here, 'peers', 'download.wasm'), readFileSync(join(root, 'wasm', 'pkg', 'edgewood_simd_bg.wasm')));
}
// Each engine's files, announced in its page's <head> (see page.html). Edgewood's is
// the SIMD build, which the package picks in Chromium.
const PRELOADS = {
  edgewood: [['modulepreload', '/bench/engines/edgewood.mjs'], ['modulepreload', '/pkg/index.js'], ['fetch', '/pkg/edgewood_simd_bg.wasm']],
  ort: [
    ['modulepreload', '/bench/engines/ort.mjs'],
    ['modulepreload', '/ort/ort.wasm.min.mjs'],
    ['modulepreload', '/ort/ort-wasm-simd-threaded.mjs'],
    ['fetch', '/ort/ort-wasm-simd-threaded.wasm'],
    ['fetch', '/bench/peers/rf_iris.onnx'],
  ],
  m2cgen: [['modulepreload', '/bench/engines/m2cgen.mjs'], ['modulepreload', '/bench/peers/m2cgen_iris.js']],
  baseline: [['modulepreload', '/bench/engines/baseline.mjs']],
  'edgewood-inline': [['modulepreload', '/bench/engines/edgewood-inline.mjs'], ['modulepreload', '/bench/peers/edgewood_inline.js']],
  'baseline-download': [['modulepreload', '/bench/engines/baseline-download.mjs'], ['fetch', '/bench/peers/download.wasm']],
};
const template = readFileSync(join(here, 'page.html'), 'utf8');
for (const engine of ALL) {
  const links = PRELOADS[engine].map(([rel, href]) => (rel === 'fetch'
    // crossorigin: the preload then matches fetch()'s same-origin request and is reused.
    ? `<link rel="preload" href="${href}" as="fetch" crossorigin>`
    : `<link rel="${rel}" href="${href}">`));
  const page = template.replace('<html lang="en">', `<html lang="en" data-engine="${engine}">`).replace('<!-- engine preloads -->', links.join('\n'));
  if (page === template) throw new Error('web/bench/page.html lost its markers');
  writeFileSync(join(here, 'peers', `page-${engine}.html`), page);
}
const pageUrl = (engine) => `${server.url}bench/peers/page-${engine}.html`;
for (const f of ['m2cgen_iris.js', 'rf_iris.onnx']) {
  if (!existsSync(join(here, 'peers', f))) throw new Error(`web/bench/peers/${f} is missing: run make_peers.py`);
}

// Fixture rows inside the Iris schema's range (the same rows for every engine).
const lines = readFileSync(join(fixtures, 'iris_rf100.input.csv'), 'utf8').trim().split('\n').slice(1);
const rows = lines.map((l) => l.split(',').map(Number)).filter((r) => r.every((v) => v >= 0 && v <= 10));

/** Starts web/server.mjs in a child process on a free port; resolves to { url, close }. */
function startServerProcess() {
  const child = spawn(process.execPath, [join(root, 'web', 'server.mjs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((ok, fail) => {
    let out = '';
    child.once('exit', (code) => fail(new Error(`web/server.mjs exited (${code}) before listening`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) {
        child.removeAllListeners('exit');
        ok({ url: m[0], close: () => new Promise((done) => { child.once('exit', done); child.kill(); }) });
      }
    });
  });
}

/** The process id of the browser that Playwright launched with this profile directory. */
function browserPid(profile) {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let args;
    try {
      args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // the process has gone
    }
    if (args.includes(`--user-data-dir=${profile}`) && !args.some((a) => a.startsWith('--type='))) return Number(p);
  }
  return null;
}

/** CPU time (clock ticks) used so far by process `root` and all its descendants. */
function treeTicks(root) {
  const parent = new Map();
  const ticks = new Map();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the parenthesised command name: state, ppid, … utime (12th), stime.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parent.set(Number(p), Number(f[1]));
    ticks.set(Number(p), Number(f[11]) + Number(f[12]));
  }
  let sum = 0;
  for (const [p, t] of ticks) {
    let q = p;
    while (q > 1 && q !== root) q = parent.get(q) ?? 0;
    if (q === root) sum += t;
  }
  return sum;
}

/**
 * Waits until the browser's processes have used at most one clock tick (10 ms) of CPU
 * in a 200 ms window, or 10 s have passed; returns how long it waited (ms).
 */
async function waitQuiet(profile) {
  const pid = browserPid(profile);
  if (pid === null) throw new Error(`no browser process with the profile ${profile}`);
  const start = Date.now();
  let last = treeTicks(pid);
  for (;;) {
    await new Promise((ok) => setTimeout(ok, 200));
    const now = treeTicks(pid);
    if (now - last <= 1 || Date.now() - start > 10_000) return Date.now() - start;
    last = now;
  }
}

const server = await startServerProcess();
const control = await startControl();
// Every file of every page once, so that no measured load pays the server's first read
// and compression of a file (a host serves its hot files from memory).
for (const engine of ENGINES) {
  for (const path of [`/bench/peers/page-${engine}.html`, ...PRELOADS[engine].map(([, href]) => href)]) {
    const response = await fetch(new URL(path, server.url), { headers: { 'accept-encoding': 'gzip' } });
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    await response.arrayBuffer();
  }
}
const scratch = mkdtempSync(join(tmpdir(), 'edgewood-bench-'));
const launch = (name) => chromium.launchPersistentContext(join(scratch, name), { executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const results = Object.fromEntries(ENGINES.map((e) => [e, { cold: [], traced: [], per: [], rates: [] }]));
let browserVersion = '?';
const quietWaits = [];

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
      const verified = api.verify ? await api.verify(rows) : null;
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
      return { k, verified, isolated: crossOriginIsolated, check: Array.from(api.probabilities ? api.probabilities(first) : first) };
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

/**
 * The control server of the timed loads (on 127.0.0.1, another port than the pages'):
 * a running browser's blank page asks it when to go on (GET /go, answered by `go()`),
 * and a benchmark page posts its timings to it (POST /report, awaited by `report()`).
 * It is another origin than the pages, so it answers with CORS headers.
 */
function startControl() {
  let waiting = [];
  let released = false;
  let reported = null;
  const server = createServer((req, res) => {
    res.setHeader('access-control-allow-origin', '*');
    if (req.method === 'GET' && req.url === '/go') {
      if (released) res.end('go');
      else waiting.push(res);
    } else if (req.method === 'POST' && req.url === '/report') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        res.end();
        reported?.(JSON.parse(body));
      });
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({
    url: `http://127.0.0.1:${server.address().port}`,
    /** Answers the blank page's question now or, if it has not asked yet, when it asks. */
    go() {
      released = true;
      for (const res of waiting) res.end('go');
      waiting = [];
    },
    /** The next report; the next blank page waits for `go()` again. */
    report: () => new Promise((got, fail) => {
      released = false;
      const timer = setTimeout(() => fail(new Error('no report from the page in 60 s')), 60_000);
      reported = (r) => {
        clearTimeout(timer);
        got(r);
      };
    }),
    close: () => new Promise((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  })));
}

/**
 * Launches Chromium on `url` with the fresh profile `name` and no DevTools client
 * attached, as a user's browser runs: with Playwright's client attached, Chromium
 * records the script stack of every request a script makes (DevTools' Network
 * panel), and V8 re-parses a minified script to find its source positions for it,
 * about 0.5 ms of the page's main thread for the package's entry in a trace.
 */
function launchBare(name, url, extraArgs = []) {
  const child = spawn('/usr/bin/chromium', [...BARE_ARGS, ...extraArgs, `--user-data-dir=${join(scratch, name)}`, url], { stdio: 'ignore', detached: true });
  const exited = new Promise((done) => child.once('exit', done));
  return {
    close() {
      try {
        process.kill(-child.pid, 'SIGKILL'); // the browser and every process it started
      } catch {
        // gone already
      }
      return exited;
    },
  };
}

/**
 * A cold load with no DevTools client (see the top). The browser opens a blank page
 * first, and the blank page goes on to the benchmark page: at once for a new browser,
 * from `localhost`, another site, so that the benchmark page is the browser's first
 * of its origin and starts a renderer process of its own; for a running browser from
 * the same origin, once the browser has gone quiet.
 */
async function bareLoad(engine, name, running, extraArgs = [], whenDone = null) {
  const query = (next) => `control=${encodeURIComponent(control.url)}${next ? `&next=${encodeURIComponent(next)}` : ''}`;
  const origin = running ? server.url : server.url.replace('//127.0.0.1:', '//localhost:');
  const url = `${origin}bench/page.html?${query(`${pageUrl(engine)}?${query()}`)}`;
  const report = control.report();
  const browser = launchBare(name, url, extraArgs);
  try {
    if (running) quietWaits.push(await waitQuiet(join(scratch, name)));
    control.go();
    const timing = await report;
    await whenDone?.();
    return timing;
  } finally {
    await browser.close();
  }
}

/** What page.html logs when its first prediction is done. */
const COLD_START_DONE = 'edgewood-bench: cold start done';

/**
 * Navigates `page` to the page for `engine` and waits for its first prediction without
 * running anything in the page meanwhile: the page says it is done on its console.
 * (`page.waitForFunction` would first evaluate Playwright's injected script in the
 * page, ~10-14 ms of the page's main thread in a trace, which landed in the middle of
 * every engine start-up that outlasts the load event and so was charged to the
 * engines but hardly to the baseline.)
 */
async function visit(page, url) {
  const done = page.waitForEvent('console', { predicate: (m) => m.text() === COLD_START_DONE, timeout: 60_000 });
  await page.goto(url);
  await done;
}

/** Navigates `page` to the page for `engine` and returns its start-up timings (ms). */
async function coldLoad(page, engine) {
  await visit(page, pageUrl(engine));
  return page.evaluate(() => window.coldRecord);
}

/** What a traced load records: task timings with thread time, V8's and wasm's work. */
const TRACE_CATEGORIES = ['__metadata', 'toplevel', 'v8', 'v8.wasm', 'devtools.timeline'];

/**
 * The page's own work in CPU time, from a Chromium trace of one cold load: thread
 * time of the renderer's main thread (what the page's script, the engine's JavaScript
 * and WebAssembly, and Chromium's handling of the engine's responses cost it) from the
 * page's module script starting to the first prediction's end. Unlike the wall time,
 * it does not stretch when the machine is loaded, so it shows the engines' own cost
 * where the wall times' medians are noise. Also the share of it compiling wasm
 * functions on their first call (V8 compiles them lazily), and their count.
 */
function ownCpu(events, engine, own) {
  const thread = new Map();
  for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') thread.set(`${e.pid}:${e.tid}`, e.args.name);
  const page = `/page-${engine}.html`;
  const compiled = events.find((e) => e.name === 'v8.compileModule' && String(e.args?.data?.url ?? e.args?.fileName ?? '').split('?')[0].endsWith(page));
  if (!compiled) throw new Error(`the trace has no compile of ${page}`);
  const start = events
    .filter((e) => e.name === 'v8.evaluateModule' && e.pid === compiled.pid && e.ts >= compiled.ts && thread.get(`${e.pid}:${e.tid}`) === 'CrRendererMain')
    .reduce((a, b) => (a && a.ts <= b.ts ? a : b), null);
  if (!start) throw new Error(`the trace has no run of ${page}'s script`);
  const from = start.ts;
  const to = from + own * 1000; // trace times are µs
  // The thread's outermost events (a task, or work outside any task) and the lazy
  // compiles among all its events; one cut by the window's edge counts its thread time
  // in proportion.
  const slices = events.filter((e) => e.pid === start.pid && e.tid === start.tid && e.ph === 'X').sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const share = (e) => {
    const overlap = Math.min(e.ts + e.dur, to) - Math.max(e.ts, from);
    return overlap > 0 ? ((e.tdur ?? e.dur) * overlap) / Math.max(e.dur, 1) / 1000 : 0;
  };
  let cpu = 0;
  let lazy = 0;
  let lazyCount = 0;
  let outerEnd = -Infinity;
  for (const e of slices) {
    if (e.ts >= outerEnd) {
      cpu += share(e);
      outerEnd = e.ts + e.dur;
    }
    if (e.name === 'wasm.CompileLazy' && share(e) > 0) {
      lazy += share(e);
      lazyCount++;
    }
  }
  return { cpu, lazy, lazyCount };
}

/** How long the traced browsers record from their launch (s): their blank page, the
 * wait for quiet and the load fit in it. */
const TRACE_SECONDS = 8;

/**
 * A running-browser cold load of `engine` with no DevTools client, traced by Chromium
 * itself from its launch (`--trace-startup`, written as JSON when TRACE_SECONDS have
 * passed): its timings and `ownCpu`.
 */
async function tracedLoad(engine, name) {
  const file = join(scratch, `${name}.trace.json`);
  const args = [`--trace-startup=${TRACE_CATEGORIES.join(',')}`, '--trace-startup-format=json', `--trace-startup-file=${file}`, `--trace-startup-duration=${TRACE_SECONDS}`];
  let events = null;
  const timing = await bareLoad(engine, name, true, args, async () => {
    // Chromium writes the file when the time is up; read it once it parses.
    const deadline = Date.now() + (TRACE_SECONDS + 30) * 1000;
    while (!events) {
      if (Date.now() > deadline) throw new Error(`no trace in ${file}`);
      await new Promise((ok) => setTimeout(ok, 250));
      try {
        events = JSON.parse(readFileSync(file, 'utf8')).traceEvents;
      } catch {
        // not there yet, or not whole yet
      }
    }
  });
  return { own: timing.own, ...ownCpu(events, engine, timing.own) };
}

/** The page a freshly launched persistent context opened, or a new one. */
const firstPage = async (context) => context.pages()[0] ?? context.newPage();

try {
  // Cold starts, the engines taking turns (so that load on the machine hits all alike);
  // a fresh profile (no HTTP cache, no code cache) each time.
  for (let run = 0; run < COLD_RUNS; run++) {
    for (let j = 0; j < ENGINES.length; j++) {
      const engine = ENGINES[(run + j) % ENGINES.length];
      const fresh = await bareLoad(engine, `${engine}-${run}-new`, false);
      const running = await bareLoad(engine, `${engine}-${run}-running`, true);
      results[engine].cold.push({ fresh: fresh.total, freshOwn: fresh.own, ...running });
      if (!results[engine].shipped) {
        // What the engine ships: everything but the benchmark's own page and adapter.
        const files = [...new Set(running.files.filter((u) => !u.startsWith('/bench/peers/page-') && !u.startsWith('/bench/engines/')))];
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
  // The same running-browser loads again, traced (the tracing slows a load, so these
  // are not the timed ones above): the page's main-thread CPU (see ownCpu).
  for (let run = 0; run < COLD_RUNS; run++) {
    for (let j = 0; j < ENGINES.length; j++) {
      const engine = ENGINES[(run + j) % ENGINES.length];
      results[engine].traced.push(await tracedLoad(engine, `${engine}-${run}-traced`));
    }
  }
  // Warm measurements: one page per engine in one browser, taking turns in rounds.
  const context = await launch('warm');
  const pages = {};
  for (const engine of WARM) {
    const page = await context.newPage();
    await visit(page, pageUrl(engine));
    await page.evaluate(installBench, { rows, BATCH });
    pages[engine] = page;
  }
  browserVersion = await pages.edgewood.evaluate(() => navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? '?');
  for (const engine of WARM) {
    await pages[engine].bringToFront();
    Object.assign(results[engine], await pages[engine].evaluate(() => window.bench.setup()));
  }
  for (let round = 0; round < 8; round++) {
    for (const engine of WARM) {
      await pages[engine].bringToFront();
      results[engine].per.push(...(await pages[engine].evaluate(() => window.bench.single(50))));
      results[engine].rates.push(await pages[engine].evaluate(() => window.bench.batch()));
    }
  }
  await context.close();
} finally {
  await control.close();
  await server.close();
  if (!process.env.BENCH_KEEP) rmSync(scratch, { recursive: true, force: true });
}
for (const engine of ENGINES) {
  const r = results[engine];
  const per = [...r.per].sort((a, b) => a - b);
  const cold = (key) => median(r.cold.map((c) => c[key]));
  Object.assign(r, {
    coldFreshMs: cold('fresh'),
    coldFreshOwnMs: cold('freshOwn'),
    coldMs: cold('total'),
    coldOwnMs: cold('own'),
    coldParts: Object.fromEntries(['page', 'response', 'engine', 'filesWait', 'wasmCompile', 'firstPredict', 'largestStart', 'largestQueued', 'largestWait', 'largestBody'].map((k) => [k, cold(k)])),
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
const warmCells = (r) => (r.per.length ? [`${r.medianUs.toFixed(2)} µs`, `${r.p99Us.toFixed(2)} µs`, fmt(r.rowsPerSec)] : ['—', '—', '—']);
const table = [
  '| engine | shipped raw | shipped gzip | cold start, new browser | of which own | cold start, running browser | of which own | 1 row median | 1 row p99 | batch 10k rows/s |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const name of ENGINES) {
  const r = results[name];
  table.push(`| ${LABEL[name]} | ${fmt(r.shipped.raw / 1024)} KB | ${fmt(r.shipped.gzip / 1024)} KB | ${fmt(r.coldFreshMs)} ms | ${fmt(r.coldFreshOwnMs)} ms | ${fmt(r.coldMs)} ms | ${fmt(r.coldOwnMs)} ms | ${warmCells(r).join(' | ')} |`);
}
table.push('', '"own": from the page\'s module script starting to the end of the first prediction (the engine\'s files, set-up and first prediction); the rest is Chromium\'s navigation, which the baseline row shows alone.');
table.push('', '| peer ÷ edgewood (>1: edgewood better) | shipped raw | shipped gzip | cold, new browser | own, new browser | cold, running browser | own, running browser | 1 row median | 1 row p99 | batch |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const name of PEERS) {
  const r = results[name];
  table.push(`| ${LABEL[name]} | ${ratio(r.shipped.raw, e.shipped.raw)} | ${ratio(r.shipped.gzip, e.shipped.gzip)} | ${ratio(r.coldFreshMs, e.coldFreshMs)} | ${ratio(r.coldFreshOwnMs, e.coldFreshOwnMs)} | ${ratio(r.coldMs, e.coldMs)} | ${ratio(r.coldOwnMs, e.coldOwnMs)} | ${ratio(r.medianUs, e.medianUs)} | ${ratio(r.p99Us, e.p99Us)} | ${ratio(r.rowsPerSec, e.rowsPerSec, true)} |`);
}
if (results.baseline) {
  const b = results.baseline;
  const above = (ours, floor) => `${fmt(Math.abs(ours - floor))} ms ${ours >= floor ? 'above' : 'below'} the baseline (${(ours / floor).toFixed(2)}×)`;
  table.push('', `Against the floor (medians of separate runs, so noise can put an engine below it): edgewood's cold start is ${above(e.coldFreshMs, b.coldFreshMs)} in a new browser and ${above(e.coldMs, b.coldMs)} in a running browser.`);
}
table.push('', 'Where the cold start goes in the running browser (medians, ms; the engine\'s set-up includes waiting for its files and compiling its wasm):', '',
  '| engine | navigation → page response end | navigation → page script | engine files + set-up | of which files still arriving | of which wasm compile + instantiate | first prediction | own (script → prediction) | total |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const name of ENGINES) {
  const p = results[name].coldParts;
  table.push(`| ${LABEL[name]} | ${p.response.toFixed(1)} | ${p.page.toFixed(1)} | ${p.engine.toFixed(1)} | ${p.filesWait.toFixed(1)} | ${p.wasmCompile.toFixed(1)} | ${p.firstPredict.toFixed(2)} | ${results[name].coldOwnMs.toFixed(1)} | ${results[name].coldMs.toFixed(1)} |`);
}
table.push('', '"files still arriving": from the script\'s start to the last file\'s response end, if later. Each engine\'s largest file (medians, ms; its request is made from the preload, before the script starts):', '',
  '| engine | file | bytes | request made (vs the script\'s start) | queued in Chromium before sending | sent → first byte | first → last byte |',
  '|---|---|---:|---:|---:|---:|---:|');
for (const name of ENGINES) {
  const p = results[name].coldParts;
  const c = results[name].cold[0];
  if (!c.largestName) continue;
  table.push(`| ${LABEL[name]} | ${c.largestName} | ${c.largestBytes.toLocaleString('en')} | ${p.largestStart.toFixed(1)} | ${p.largestQueued.toFixed(1)} | ${p.largestWait.toFixed(1)} | ${p.largestBody.toFixed(1)} |`);
}
table.push('', 'The page\'s main-thread CPU from its script\'s start to the first prediction (thread time from a Chromium trace of each engine\'s running-browser load, traced apart from the timed loads above; medians; the load on the machine stretches wall times but hardly this):', '',
  '| engine | own, wall (traced loads) | main-thread CPU | of which compiling wasm functions on first call | functions compiled |',
  '|---|---:|---:|---:|---:|');
for (const name of ENGINES) {
  const t = results[name].traced;
  const m = (key) => median(t.map((x) => x[key]));
  table.push(`| ${LABEL[name]} | ${m('own').toFixed(1)} ms | ${m('cpu').toFixed(2)} ms | ${m('lazy').toFixed(2)} ms | ${m('lazyCount')} |`);
}
table.push('', `Chromium ${browserVersion}, load average during the run: ${loadavg().map((v) => v.toFixed(1)).join(' ')} on ${cpus().length} cores; ${COLD_RUNS} cold runs per engine; a running browser went quiet after ${median(quietWaits)} ms (median, max ${Math.max(...quietWaits)} ms).`);
const text = table.join('\n');
console.log(text);
for (const name of ENGINES) {
  const r = results[name];
  const warm = r.per.length ? `; blocks of ${r.k} calls (isolated timers: ${r.isolated}); check ${r.check.map((v) => v.toFixed(3)).join(' ')}${r.verified ? `; Model.iris() = converted .ewm on ${r.verified} rows, bit for bit` : ''}` : '';
  console.log(`${name}: ships ${[...new Set(r.shipped.files)].join(', ') || 'nothing'}; cold runs (new / running browser) ${r.cold.map((c) => `${c.fresh.toFixed(0)}/${c.total.toFixed(0)}`).join(', ')} ms${warm}`);
}
mkdirSync(join(root, 'artifacts'), { recursive: true });
writeFileSync(join(root, 'artifacts', 'bench-web.md'), text + '\n');
writeFileSync(join(root, 'artifacts', 'bench-web.json'), JSON.stringify(results, null, 2));
if (process.env.BENCH_KEEP) console.log(`profiles and traces kept in ${scratch}`);
