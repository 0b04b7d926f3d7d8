// Chromium tests of the engine's two builds: the package picks edgewood_simd_bg.wasm
// (WebAssembly SIMD, with the interval-mask walk) where the browser validates a SIMD
// instruction, else edgewood_bg.wasm. One page takes each path, the second by making
// WebAssembly.validate answer false before the package loads, and every fixture model
// (converted here by the package's converter) predicts every fixture row in both, one
// row at a time and as one batch: the two builds must give the same bits, refuse the
// same rows with the same words, and match the libraries' expected outputs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../server.mjs';
import { fixtures, pkgDir } from '../paths.mjs';
import { readCsv } from '../csv.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

let server;
let context;
let scratch;
/** The two pages: `simd` as the package chose, `baseline` with SIMD hidden from it. */
const pages = {};
const pageErrors = [];

/** Loads the package in `page` (no SIMD if `hideSimd`); resolves to what it loaded. */
async function open(page, hideSimd) {
  if (hideSimd) {
    // Before any of the page's scripts: the package's feature test then fails.
    await page.addInitScript(() => {
      WebAssembly.validate = () => false;
    });
  }
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${server.url}bench/page.html`);
  return page.evaluate(async () => {
    window.edgewood = await import('/pkg/index.js');
    const wasm = performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.endsWith('.wasm'));
    return { simd: window.edgewood.version().simd, wasm };
  });
}

before(async () => {
  server = await startServer();
  scratch = mkdtempSync(join(tmpdir(), 'edgewood-engines-'));
  context = await chromium.launchPersistentContext(join(scratch, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS });
  pages.simd = await context.newPage();
  pages.baseline = await context.newPage();
});

after(async () => {
  await context?.close();
  await server?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('Chromium gets the SIMD build, and the baseline build when SIMD is not there', async () => {
  assert.deepEqual(await open(pages.simd, false), { simd: true, wasm: ['/pkg/edgewood_simd_bg.wasm'] });
  assert.deepEqual(await open(pages.baseline, true), { simd: false, wasm: ['/pkg/edgewood_bg.wasm'] });
});

/**
 * In the page: each model predicts each of its rows alone (the walk of one row) and
 * all accepted rows as one batch (the batch walks). Returns per row either its outputs
 * as float64 bit patterns or the refusal's code and message, and the batch's bits.
 */
function predictAll(cases) {
  const { Model } = window.edgewood;
  const bits = (values) => Array.from(new BigUint64Array(Float64Array.from(values).buffer), String);
  return cases.map(({ name, ewm, rows }) => {
    const model = Model.fromBytes(new Uint8Array(ewm));
    const values = (p) => ('value' in p ? [p.value] : model.schema.classes.map((c) => p.probabilities[c]));
    const accepted = [];
    const one = rows.map((row) => {
      const x = row.map((v) => (v === null ? NaN : v));
      try {
        const out = bits(values(model.predict(x)));
        accepted.push(x);
        return out;
      } catch (e) {
        return `${e.code}: ${e.message}`;
      }
    });
    const batch = model.predictBatch(accepted.flat(), accepted.length);
    model.free();
    return { name, one, batch: bits(batch.values ?? batch.probabilities) };
  });
}

test('every fixture model gives the same bits through both builds, one row and in batches, as its library', async () => {
  const { convert } = await import(pkgDir + 'convert-node.js');
  const manifest = JSON.parse(readFileSync(fixtures + 'manifest.json', 'utf8'));
  const cases = [];
  const expected = {};
  for (const entry of manifest) {
    if (entry.output === 'refused') continue;
    const ewm = await convert(readFileSync(fixtures + entry.model));
    const input = readCsv(fixtures + `${entry.expected}.input.csv`);
    const rows = input.rows.map((cells) => cells.map((c) => (c === '' || c.toLowerCase() === 'nan' ? null : Number(c))));
    cases.push({ name: entry.name, ewm: Array.from(ewm), rows });
    // ONNX fixtures record the source model's outputs, which an ONNX graph's float32
    // leaves do not reproduce (other tests compare them with their source model).
    const output = entry.format === 'onnx' ? 'source' : entry.output;
    expected[entry.name] = { output, csv: readCsv(fixtures + `${entry.expected}.expected.csv`) };
  }
  assert.ok(cases.length >= 100, `${cases.length} fixtures`);
  const simd = await pages.simd.evaluate(predictAll, cases);
  const baseline = await pages.baseline.evaluate(predictAll, cases);
  let rows = 0;
  let compared = 0;
  for (let i = 0; i < cases.length; i++) {
    const { name } = cases[i];
    assert.deepEqual(simd[i].one, baseline[i].one, `${name}: one row at a time`);
    assert.deepEqual(simd[i].batch, baseline[i].batch, `${name}: batch`);
    // The batch gives each accepted row's bits.
    assert.deepEqual(simd[i].batch, simd[i].one.filter(Array.isArray).flat(), `${name}: batch against one row at a time`);
    rows += simd[i].one.length;
    // And they are the library's (for the outputs the fixtures record as such).
    const { output, csv } = expected[name];
    if (output !== 'proba' && output !== 'value') continue;
    const k = output === 'value' ? 1 : csv.header.length - 1;
    simd[i].one.forEach((got, r) => {
      if (!Array.isArray(got)) return;
      const want = csv.rows[r].slice(csv.rows[r].length - k).map(Number);
      const values = got.map((b) => new Float64Array(new BigUint64Array([BigInt(b)]).buffer)[0]);
      assert.ok(values.every((v, c) => Object.is(v, want[c])), `${name} row ${r}: ${values} vs ${want}`);
      compared++;
    });
  }
  assert.ok(rows > 20_000, `${rows} rows`);
  assert.ok(compared > 10_000, `${compared} rows against the libraries`);
  assert.deepEqual(pageErrors, []);
});

test('the embedded Iris model gives the same bits through both builds', async () => {
  const input = readCsv(fixtures + 'iris_rf100.input.csv').rows.map((r) => r.map(Number)).filter((r) => r.every((v) => v >= 0 && v <= 10));
  const run = (rows) => {
    const iris = window.edgewood.Model.iris();
    const one = rows.map((r) => iris.schema.classes.map((c) => iris.predict(r).probabilities[c]));
    const batch = Array.from(iris.predictBatch(rows.flat(), rows.length).probabilities);
    return { one: one.flat(), batch };
  };
  const simd = await pages.simd.evaluate(run, input);
  const baseline = await pages.baseline.evaluate(run, input);
  assert.ok(simd.one.every((v, i) => Object.is(v, baseline.one[i])));
  assert.ok(simd.batch.every((v, i) => Object.is(v, baseline.batch[i])));
  assert.ok(simd.batch.every((v, i) => Object.is(v, simd.one[i])));
  assert.equal(simd.batch.length, input.length * 3);
});
