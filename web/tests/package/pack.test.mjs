// The npm package as a user gets it: `npm pack` the built package, install the tarball
// into a scratch project, import it in Node (both entries), build the same page with
// Vite and with webpack 5, and run each built page in Chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { extname, join } from 'node:path';
import { chromium } from 'playwright-core';
import webpack from 'webpack';
import { pkgDir, webDir, fixtures } from '../paths.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** P(virginica) of the embedded Iris model for [6.3, 3.3, 6.0, 2.5], as the Node entry gives it. */
let IRIS_VIRGINICA;
const VITE = JSON.parse(readFileSync(webDir + 'package.json', 'utf8')).devDependencies.vite;
let scratch;
let project;
let tarball;
let packed;
let browser = null; // one Chromium for the built pages, launched on first use

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

before(async () => {
  const { Model } = await import(pkgDir + 'node.js');
  IRIS_VIRGINICA = Model.iris().predict([6.3, 3.3, 6.0, 2.5]).probabilities.virginica;
  scratch = mkdtempSync(join(tmpdir(), 'edgewood-pack-'));
  packed = JSON.parse(npm(['pack', '--json', '--pack-destination', scratch], pkgDir))[0];
  tarball = join(scratch, packed.filename);
  project = join(scratch, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({
    name: 'scratch-app',
    private: true,
    type: 'module',
    dependencies: { edgewood: `file:${tarball}` },
    devDependencies: { vite: VITE },
  }, null, 2));
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline'], project);
});

after(async () => {
  if (browser) await browser.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The demo's Iris with covers, which the scratch app explains (served at /iris.ewm). */
const IRIS_WITH_COVER = webDir + 'demo/iris.ewm';

/**
 * The scratch app both bundlers build: predicts one row, explains it with a model that
 * has covers (the explainer's wasm is fetched then), and code-splits the converter.
 */
function writeApp() {
  writeFileSync(join(project, 'index.html'), `<!doctype html><meta charset="utf-8"><title>app</title>
    <p id="out">…</p><script type="module" src="/main.js"></script>`);
  mkdirSync(join(project, 'public'), { recursive: true });
  copyFileSync(IRIS_WITH_COVER, join(project, 'public', 'iris.ewm'));
  writeFileSync(join(project, 'main.js'), `
    import { Model } from 'edgewood';
    const p = Model.iris().predict([6.3, 3.3, 6.0, 2.5]);
    const out = document.getElementById('out');
    out.dataset.p = p.probabilities.virginica;
    // Explained by the lazily loaded explainer: base + contributions = P(virginica).
    const model = await Model.load(await fetch('/iris.ewm'));
    const e = await model.explain([6.3, 3.3, 6.0, 2.5]);
    out.dataset.explained = Object.values(e.contributions[2]).reduce((a, b) => a + b, e.base[2]);
    out.textContent = p.label;
    // The converter is code-split: fetched only when used.
    out.dataset.lazy = typeof (() => import('edgewood/convert'));
  `);
}

/**
 * Serves a built app's directory on 127.0.0.1, opens it in Chromium and returns what the
 * page shows once it has predicted (label and virginica probability) and the wasm
 * files it fetched.
 */
async function runBuilt(dist) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const path = req.url === '/' ? '/index.html' : req.url.split('?')[0];
    try {
      const body = readFileSync(join(dist, path.replace(/\.\./g, '')));
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  browser ??= await chromium.launchPersistentContext(join(scratch, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => document.getElementById('out').textContent !== '…', null, { timeout: 10_000 })
      .catch((e) => { throw new Error(`the built page did not predict (${errors.join('; ') || e.message})`); });
    return await page.evaluate(() => ({
      label: document.getElementById('out').textContent,
      virginica: Number(document.getElementById('out').dataset.p),
      explained: Number(document.getElementById('out').dataset.explained),
      wasm: performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.endsWith('.wasm')),
    }));
  } finally {
    await page.close();
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  }
}

test('the tarball holds exactly the allow-listed files', () => {
  const manifest = JSON.parse(readFileSync(pkgDir + 'package.json', 'utf8'));
  const files = packed.files.map((f) => f.path).sort();
  assert.deepEqual(files, [...manifest.files, 'package.json'].sort());
  // The budget: the engine wasm is at most 60 KB gzipped, each of its builds.
  for (const wasm of ['edgewood_bg.wasm', 'edgewood_simd_bg.wasm']) {
    const gzipped = gzipSync(readFileSync(pkgDir + wasm), { level: 9 }).length;
    assert.ok(gzipped <= 60 * 1024, `${wasm} is ${gzipped} bytes gzipped`);
  }
});

test('Node imports the installed package, both entries', () => {
  writeFileSync(join(project, 'node-check.mjs'), `
    import { Model, version, EdgewoodError } from 'edgewood';
    import { convert } from 'edgewood/convert';
    import { readFileSync } from 'node:fs';
    const iris = Model.iris();
    const p = iris.predict({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 });
    let code;
    try { iris.predict({ sepal_length: 5.1 }); } catch (e) { code = e instanceof EdgewoodError && e.code + ':' + e.feature; }
    const m = await Model.load(await convert(readFileSync(process.argv[2])));
    const e = await m.explain([6.3, 3.3, 6.0, 2.5]);
    let cover;
    await iris.explain([5.1, 3.5, 1.4, 0.2]).catch((e) => (cover = e instanceof EdgewoodError && e.code));
    console.log(JSON.stringify({ label: p.label, version: version(), code, trees: m.schema.trees, space: e.space, cover }));
  `);
  const out = JSON.parse(execFileSync('node', ['node-check.mjs', fixtures + 'iris_rf10.joblib'], { cwd: project, encoding: 'utf8' }));
  assert.equal(out.label, 'setosa');
  assert.equal(out.version.format, 2);
  assert.equal(out.code, 'missing_feature:sepal_width');
  assert.equal(out.trees, 10);
  assert.equal(out.space, 'probability');
  assert.equal(out.cover, 'no_cover');
});

test('the TypeScript declarations check against typical use (tsc --strict)', () => {
  writeFileSync(join(project, 'check.ts'), `
    import { Model, EdgewoodError, version, type Schema, type ClassPrediction } from 'edgewood';
    import { convert, type ConvertOptions } from 'edgewood/convert';
    const iris: Model = Model.iris();
    const schema: Schema = iris.schema;
    const names: string[] = schema.features.map((f) => f.name);
    const min: number | undefined = schema.features[0].validRange?.min;
    const p = iris.predict({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: null });
    if ('label' in p) { const c: ClassPrediction = p; const conf: number = c.probabilities['setosa']; }
    const b = iris.predictBatch(new Float32Array(8), 2);
    if ('labels' in b) { const probs: Float64Array = b.probabilities; const idx: Uint32Array = b.classIndex; }
    try { iris.predict([1, 2, 3]); } catch (e) { if (e instanceof EdgewoodError) { const code: string = e.code; const f: string | undefined = e.feature; } }
    const options: ConvertOptions = { featureNames: names, validRanges: { '*': { min: 0, max: 10 } } };
    async function load(bytes: Uint8Array): Promise<Model> { return Model.load(await convert(bytes, options)); }
    const v: { version: string; format: number } = version();
    async function why(model: Model): Promise<number> {
      const e = await model.explain({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 });
      const space: 'probability' | 'value' | 'margin' = e.space;
      if (Array.isArray(e.base)) return e.base[0] + (e.contributions as readonly Readonly<Record<string, number>>[])[0]['petal_width'];
      const batch = await model.explainBatch(new Float64Array(8), 2);
      const c: Float64Array = batch.contributions;
      return batch.outputs + c[0];
    }
    export { load, v, min, why };
  `);
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], skipLibCheck: false },
    files: ['check.ts'],
  }));
  execFileSync(join(webDir, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: project, encoding: 'utf8' });
  // And a misuse is caught: predict does not take a string.
  writeFileSync(join(project, 'check.ts'), `import { Model } from 'edgewood'; Model.iris().predict('5.1,3.5');`);
  assert.throws(() => execFileSync(join(webDir, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: project, encoding: 'utf8', stdio: 'pipe' }));
});

test('Vite builds a page with the package, and the built page predicts in Chromium', async () => {
  writeApp();
  execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const dist = join(project, 'dist');
  const assets = readdirSync(join(dist, 'assets'));
  // Both builds of the engine are emitted; Chromium fetches the SIMD one.
  assert.ok(assets.some((f) => /^edgewood_bg-.*\.wasm$/.test(f)), `engine wasm emitted: ${assets}`);
  assert.ok(assets.some((f) => /^edgewood_simd_bg-.*\.wasm$/.test(f)), `SIMD engine wasm emitted: ${assets}`);
  const shown = await runBuilt(dist);
  assert.equal(shown.label, 'virginica');
  assert.equal(shown.virginica, IRIS_VIRGINICA);
  assert.ok(Math.abs(shown.explained - IRIS_VIRGINICA) < 1e-12, `explained ${shown.explained}`);
  // The engine, then the explainer (for explain); never the converter.
  assert.deepEqual(shown.wasm.map((p) => p.match(/edgewood(_simd|_explain)?_bg/)?.[0]), ['edgewood_simd_bg', 'edgewood_explain_bg'], `fetched ${shown.wasm}`);
});

test('webpack 5 builds the same page, and the built page predicts in Chromium', async () => {
  writeApp();
  const dist = join(project, 'dist-webpack');
  // The configuration a webpack user would write: nothing package-specific. webpack
  // resolves `edgewood` from the scratch project's node_modules (the installed tarball)
  // and emits `new URL('…wasm', import.meta.url)` targets as assets.
  const stats = await new Promise((ok, fail) => webpack({
    mode: 'production',
    context: project,
    entry: './main.js',
    output: { path: dist, filename: 'main.js', chunkFilename: '[name].[contenthash].js', clean: true },
    performance: { hints: false }, // the converter's wasm is large by design (lazy)
  }, (err, result) => (err ? fail(err) : ok(result))));
  assert.ok(!stats.hasErrors(), stats.toString({ all: false, errors: true }));
  const emitted = readdirSync(dist);
  assert.ok(emitted.filter((f) => f.endsWith('.wasm')).length >= 3, `both engine builds and the explainer emitted: ${emitted}`);
  // The converter and its wasm are a separate chunk, not part of main.js.
  const main = readFileSync(join(dist, 'main.js'), 'utf8');
  assert.ok(!main.includes('edgewood_convert_bg'), 'the converter is not in the main bundle');
  assert.ok(emitted.filter((f) => f.endsWith('.js')).length > 1, `converter code-split: ${emitted}`);
  writeFileSync(join(dist, 'index.html'), `<!doctype html><meta charset="utf-8"><title>app</title>
    <p id="out">…</p><script src="/main.js"></script>`);
  copyFileSync(IRIS_WITH_COVER, join(dist, 'iris.ewm'));
  const shown = await runBuilt(dist);
  assert.equal(shown.label, 'virginica');
  assert.equal(shown.virginica, IRIS_VIRGINICA);
  assert.ok(Math.abs(shown.explained - IRIS_VIRGINICA) < 1e-12, `explained ${shown.explained}`);
  assert.equal(shown.wasm.length, 2, `fetched exactly the engine and explainer wasm: ${shown.wasm}`);
});
