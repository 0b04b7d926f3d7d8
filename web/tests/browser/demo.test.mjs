// Chromium tests of the demo page (playwright-core driving Debian's Chromium, headless),
// served by web/server.mjs on 127.0.0.1: sliders and the shown prediction, bit-for-bit
// parity with scikit-learn's outputs on the fixture rows (typed in, and through a CSV
// upload and download), loading model files, inline errors, the contributions chart
// against model.explain and the what-if curves against predictBatch, and a screenshot
// saved to artifacts/demo.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { startServer } from '../../server.mjs';
import { fixtures, pkgDir, root } from '../paths.mjs';
import { readCsv } from '../csv.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];
const IRIS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

let server;
let context;
let page;
let scratch;
const pageErrors = [];

before(async () => {
  server = await startServer();
  scratch = mkdtempSync(join(tmpdir(), 'edgewood-browser-'));
  context = await chromium.launchPersistentContext(join(scratch, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1100, height: 1300 },
    acceptDownloads: true,
  });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The prediction the page shows: label and each bar's exact probability. */
async function shown() {
  return page.evaluate(() => ({
    label: document.getElementById('prediction-label').dataset.value,
    bars: Object.fromEntries(
      [...document.querySelectorAll('#bars .bar')].map((li) => [li.dataset.class, Number(li.dataset.p)]),
    ),
    error: document.getElementById('predict-error').hidden ? null : document.getElementById('predict-error').textContent,
  }));
}

async function typeRow(values) {
  for (let i = 0; i < values.length; i++) await page.fill(`#f-${i}`, String(values[i]));
}

test('the page starts with the Iris model and a setosa', async () => {
  assert.equal(await page.textContent('#model-title'), 'Iris');
  const s = await shown();
  assert.equal(s.label, 'setosa');
  assert.equal(s.error, null);
  assert.deepEqual(Object.keys(s.bars), ['setosa', 'versicolor', 'virginica']);
  assert.match(await page.textContent('#engine-info'), /Engine \d+\.\d+\.\d+/);
  // The engine wasm the page preloads is the one the package loads, fetched once.
  const wasm = await page.evaluate(() => performance.getEntriesByType('resource')
    .map((e) => new URL(e.name).pathname).filter((p) => /edgewood(_simd)?_bg\.wasm$/.test(p)));
  assert.deepEqual(wasm, ['/pkg/edgewood_simd_bg.wasm']);
});

test('moving the sliders updates the prediction and the bars', async () => {
  // Drag petal length and width up with the keyboard, as a person would.
  for (const i of [2, 3]) {
    await page.focus(`#f-${i}-range`);
    for (let k = 0; k < 5; k++) await page.keyboard.press('PageUp');
  }
  const after = await shown();
  const row = await page.evaluate(() => [0, 1, 2, 3].map((i) => Number(document.getElementById(`f-${i}`).value)));
  assert.ok(row[2] > 1.4 && row[3] > 0.2, `sliders moved: ${row}`);
  // The shown numbers are the engine's own, unrounded.
  const direct = await page.evaluate((r) => window.edgewoodDemo.model.predict(r), row);
  assert.equal(after.label, direct.label);
  assert.deepEqual(after.bars, direct.probabilities);
  const widths = await page.$$eval('#bars .fill', (els) => els.map((e) => parseFloat(e.style.width)));
  assert.ok(Math.abs(widths.reduce((a, b) => a + b) - 100) < 1e-6);
  // The presets move the sliders too.
  await page.click('text=A typical virginica');
  assert.equal((await shown()).label, 'virginica');
  assert.equal(await page.inputValue('#f-2-range'), '6');
});

test('typed fixture rows show exactly scikit-learn\'s probabilities', async () => {
  const input = readCsv(fixtures + 'iris_rf100.input.csv');
  const expected = readCsv(fixtures + 'iris_rf100.expected.csv');
  let checked = 0;
  for (let i = 0; i < input.rows.length && checked < 40; i += 7) {
    const row = input.rows[i].map(Number);
    if (!row.every((v) => v >= 0 && v <= 10)) continue;
    await typeRow(input.rows[i]);
    const s = await shown();
    assert.equal(s.error, null, `row ${i}`);
    assert.equal(s.label, expected.rows[i][0], `row ${i} label`);
    ['setosa', 'versicolor', 'virginica'].forEach((c, k) =>
      assert.ok(Object.is(s.bars[c], Number(expected.rows[i][k + 1])), `row ${i} ${c}: ${s.bars[c]} vs ${expected.rows[i][k + 1]}`));
    checked++;
  }
  assert.ok(checked >= 30, `${checked} rows checked`);
});

test('a refused value is explained inline, naming the feature', async () => {
  await typeRow([5.1, 3.5, 1.4, 0.2]);
  await page.fill('#f-3', '20');
  const s = await shown();
  assert.equal(s.error, "feature 'petal_width' must be between 0 and 10, got 20");
  assert.equal(await page.getAttribute('#f-3', 'aria-invalid'), 'true');
  await page.fill('#f-3', '');
  assert.match((await shown()).error, /petal_width.*missing/);
  await page.fill('#f-3', '0.2');
  assert.equal((await shown()).error, null);
  assert.equal(await page.getAttribute('#f-3', 'aria-invalid'), null);
});

test('a CSV upload predicts every row, shows progress and downloads bit-exact results', async () => {
  await page.setInputFiles('#csv-file', fixtures + 'iris_rf100.input.csv');
  await page.waitForSelector('#download:not([hidden])');
  assert.equal(await page.getAttribute('#progress-bar', 'value'), '1');
  assert.match(await page.textContent('#progress-text'), /382 \/ 382 rows/);
  assert.match(await page.textContent('#batch-status'), /Predicted \d+ of 382 rows/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(download.suggestedFilename(), 'iris_rf100.input.predictions.csv');
  const path = join(scratch, 'predictions.csv');
  await download.saveAs(path);
  mkdirSync(root + 'artifacts', { recursive: true });
  await page.screenshot({ path: root + 'artifacts/demo.png', fullPage: true });
  const out = readCsv(path);
  const expected = readCsv(fixtures + 'iris_rf100.expected.csv');
  assert.deepEqual(out.header, [...IRIS, 'label', 'p_setosa', 'p_versicolor', 'p_virginica', 'error']);
  let exact = 0;
  let refused = 0;
  out.rows.forEach((cells, i) => {
    const row = cells.slice(0, 4);
    const inRange = row.every((c) => c !== '' && Number(c) >= 0 && Number(c) <= 10);
    if (!inRange) {
      assert.match(cells[8], /must be between 0 and 10|missing \(NaN\)/, `row ${i}`);
      refused++;
      return;
    }
    assert.equal(cells[8], '', `row ${i}`);
    assert.equal(cells[4], expected.rows[i][0], `row ${i} label`);
    for (let k = 0; k < 3; k++) assert.ok(Object.is(Number(cells[5 + k]), Number(expected.rows[i][k + 1])), `row ${i} p${k}`);
    exact++;
  });
  assert.equal(exact + refused, 382);
  assert.ok(exact >= 300 && refused > 0, `${exact} exact, ${refused} refused`);
});

test('the page\'s CSV predictions equal the native CLI\'s, bit for bit', async () => {
  // The rows the Iris schema accepts (the CLI stops at the first refused row).
  const lines = readFileSync(fixtures + 'iris_rf100.input.csv', 'utf8').trim().split('\n');
  const ok = lines.slice(1).filter((l) => l.split(',').every((v) => v !== '' && Number(v) >= 0 && Number(v) <= 10));
  const input = join(scratch, 'iris-in-range.csv');
  writeFileSync(input, [lines[0], ...ok].join('\n') + '\n');
  // EDGEWOOD_CLI names a built `edgewood` binary; otherwise cargo builds and runs it.
  const [cmd, ...args] = process.env.EDGEWOOD_CLI
    ? [process.env.EDGEWOOD_CLI]
    : ['cargo', 'run', '--quiet', '-p', 'edgewood', '--'];
  const native = execFileSync(cmd, [...args, 'predict', input], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, timeout: 20 * 60_000 })
    .trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(native[0], ['label', 'p_setosa', 'p_versicolor', 'p_virginica']);

  await page.setInputFiles('#csv-file', input);
  await page.waitForFunction(() => document.getElementById('batch-status').textContent.includes('of 350 rows'));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const path = join(scratch, 'page.csv');
  await download.saveAs(path);
  const web = readCsv(path).rows;
  assert.equal(web.length, ok.length);
  assert.equal(native.length - 1, ok.length);
  web.forEach((cells, i) => {
    const want = native[i + 1];
    assert.equal(cells[4], want[0], `row ${i} label`);
    for (let k = 0; k < 3; k++) assert.ok(Object.is(Number(cells[5 + k]), Number(want[k + 1])), `row ${i} p${k}: ${cells[5 + k]} vs ${want[k + 1]}`);
  });
});

test('a CSV without a needed column is refused in words', async () => {
  const path = join(scratch, 'bad.csv');
  writeFileSync(path, 'sepal_length,sepal_width,petal_length\n5.1,3.5,1.4\n');
  await page.setInputFiles('#csv-file', path);
  await page.waitForSelector('#batch-error:not([hidden])');
  assert.match(await page.textContent('#batch-error'), /no column 'petal_width'/);
  assert.equal(await page.isHidden('#download'), true);
});

test('dropping an .ewm model rebuilds the form from its schema', async () => {
  const { convert } = await import(pkgDir + 'convert-node.js');
  const ewm = await convert(readFileSync(fixtures + 'iris_rf10.joblib'), {
    featureNames: ['a', 'b', 'c', 'd'],
    classNames: ['one', 'two', 'three'],
  });
  const path = join(scratch, 'small.ewm');
  writeFileSync(path, ewm);
  await page.setInputFiles('#model-file', path);
  await page.waitForFunction(() => document.getElementById('model-title').textContent === 'small.ewm');
  assert.deepEqual(await page.$$eval('#features input[type=number]', (els) => els.map((e) => e.dataset.feature)), ['a', 'b', 'c', 'd']);
  assert.match(await page.textContent('#model-info'), /10 trees/);
  const s = await shown();
  assert.deepEqual(Object.keys(s.bars), ['one', 'two', 'three']);
  assert.equal(await page.isVisible('#back-to-iris'), true);
});

test('dropping a scikit-learn joblib converts it in the page', async () => {
  await page.setInputFiles('#model-file', fixtures + 'rf_regressor.joblib');
  await page.waitForFunction(() => document.getElementById('model-title').textContent === 'rf_regressor.joblib');
  assert.match(await page.textContent('#model-status'), /converted in \d+ ms/);
  assert.match(await page.textContent('#result-caption'), /Predicted value/);
  const { value, row } = await page.evaluate(() => {
    const row = [...document.querySelectorAll('#features input[type=number]')].map((e) => Number(e.value));
    return { row, value: window.edgewoodDemo.model.predict(row).value };
  });
  assert.equal(Number(await page.getAttribute('#prediction-label', 'data-value')), value);
  assert.ok(row.length > 1);
});

test('a model that stored no feature names takes CSV columns in order, with a warning', async () => {
  // iris_rf10 was fit on a bare array: its features are x0…x3 (issue 13 item 1).
  await page.setInputFiles('#model-file', fixtures + 'iris_rf10.joblib');
  await page.waitForFunction(() => document.getElementById('model-title').textContent === 'iris_rf10.joblib');
  const three = join(scratch, 'three.csv');
  writeFileSync(three, 'a,b,c\n5.1,3.5,1.4\n');
  await page.setInputFiles('#csv-file', three);
  await page.waitForSelector('#batch-error:not([hidden])');
  assert.match(await page.textContent('#batch-error'), /no column 'x0'/);
  await page.setInputFiles('#csv-file', fixtures + 'iris_rf10.input.csv');
  await page.waitForSelector('#download:not([hidden])');
  assert.equal(await page.isHidden('#batch-error'), true);
  assert.match(await page.textContent('#batch-warning'),
    /stored no feature names \(x0, …\): taking the 4 columns of iris_rf10\.input\.csv in order/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const path = join(scratch, 'positional.csv');
  await download.saveAs(path);
  const out = readCsv(path);
  const expected = readCsv(fixtures + 'iris_rf10.expected.csv');
  assert.equal(out.rows.length, expected.rows.length);
  out.rows.forEach((cells, i) => {
    assert.equal(cells[8], '', `row ${i}`);
    assert.equal(cells[4], expected.rows[i][0], `row ${i} label`);
    for (let k = 0; k < 3; k++) assert.ok(Object.is(Number(cells[5 + k]), Number(expected.rows[i][k + 1])), `row ${i} p${k}`);
  });
});

test('a CatBoost .cbm with a one-hot feature converts in the page and predicts a CSV bit for bit', async () => {
  await page.setInputFiles('#model-file', fixtures + 'cb_onehot.cbm');
  await page.waitForFunction(() => document.getElementById('model-title').textContent === 'cb_onehot.cbm');
  assert.match(await page.textContent('#result-caption'), /Predicted value/);
  await page.setInputFiles('#csv-file', fixtures + 'cb_onehot.input.csv');
  await page.waitForSelector('#download:not([hidden])');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const path = join(scratch, 'cb_onehot.csv');
  await download.saveAs(path);
  const out = readCsv(path);
  const expected = readCsv(fixtures + 'cb_onehot.expected.csv');
  const at = out.header.indexOf('value');
  assert.equal(out.rows.length, expected.rows.length);
  out.rows.forEach((cells, i) => assert.ok(Object.is(Number(cells[at]), Number(expected.rows[i][0])), `row ${i}`));
});

test('a forest fitted on one class shows that class with probability 1', async () => {
  await page.setInputFiles('#model-file', fixtures + 'single_class_rf.joblib');
  await page.waitForFunction(() => document.getElementById('model-title').textContent === 'single_class_rf.joblib');
  const s = await shown();
  assert.equal(s.label, '7');
  assert.deepEqual(s.bars, { 7: 1 });
  assert.equal(s.error, null);
});

test('a file that is no model is refused inline', async () => {
  await page.setInputFiles('#model-file', fixtures + 'iris_rf100.input.csv');
  await page.waitForSelector('#model-error:not([hidden])');
  assert.match(await page.textContent('#model-error'), /iris_rf100\.input\.csv.*unrecognised model format/);
  await page.click('#back-to-iris');
  assert.equal(await page.textContent('#model-title'), 'Iris');
  assert.deepEqual(pageErrors, []);
});

/** The contributions chart as drawn: the row it explains, and each bar's exact value. */
async function chart() {
  return page.evaluate(() => {
    const box = document.getElementById('explain');
    return {
      hidden: box.hidden,
      state: box.dataset.state,
      row: box.dataset.row ? JSON.parse(box.dataset.row) : null,
      note: document.getElementById('explain-note').textContent,
      bars: Object.fromEntries(
        [...document.querySelectorAll('#explain-chart .contribution')].map((g) => [g.dataset.feature, Number(g.dataset.value)]),
      ),
    };
  });
}

test('the chart shows model.explain\'s contributions for the predicted class, live', async () => {
  await page.click('#back-to-iris').catch(() => {});
  for (const [preset, values] of [['virginica', [6.3, 3.3, 6, 2.5]], ['versicolor', [7, 3.2, 4.7, 1.4]]]) {
    await page.click(`text=A typical ${preset}`);
    await page.waitForFunction((v) => document.getElementById('explain').dataset.row === JSON.stringify(v), values);
    const drawn = await chart();
    assert.equal(drawn.state, 'ok');
    const want = await page.evaluate(async (row) => {
      const explainer = await window.edgewoodDemo.explainer;
      const e = await explainer.explain(row);
      const k = explainer.schema.classes.indexOf(window.edgewoodDemo.model.predict(row).label);
      return { contributions: e.contributions[k], base: e.base[k], k };
    }, values);
    assert.equal((await shown()).label, preset);
    assert.deepEqual(drawn.bars, want.contributions);
    // For a forest, base + contributions is the shown probability of the class.
    const total = Object.values(drawn.bars).reduce((a, b) => a + b, want.base);
    assert.ok(Math.abs(total - (await shown()).bars[preset]) < 1e-12, `${total}`);
  }
  // A slider move redraws it.
  await page.focus('#f-3-range');
  await page.keyboard.press('PageDown');
  const row = await page.evaluate(() => [0, 1, 2, 3].map((i) => Number(document.getElementById(`f-${i}`).value)));
  await page.waitForFunction((v) => document.getElementById('explain').dataset.row === JSON.stringify(v), row);
});

test('each slider\'s what-if curve is the shown class\'s probability as that feature sweeps its range', async () => {
  await page.click('text=A typical versicolor');
  const row = [7, 3.2, 4.7, 1.4];
  await page.waitForFunction((v) => document.querySelector('.whatif').dataset.row === JSON.stringify(v), row);
  const curves = await page.$$eval('.whatif', (els) => els.map((e) => ({ feature: e.dataset.feature, ys: JSON.parse(e.dataset.ys) })));
  assert.deepEqual(curves.map((c) => c.feature), IRIS);
  const want = await page.evaluate((r) => {
    const { model } = window.edgewoodDemo;
    const k = model.schema.classes.indexOf(model.predict(r).label);
    return [0, 1, 2, 3].map((i) => {
      const range = document.getElementById(`f-${i}-range`);
      const [lo, hi] = [Number(range.min), Number(range.max)];
      const xs = Array.from({ length: 41 }, (_, j) => lo + ((hi - lo) * j) / 40);
      const out = model.predictBatch(xs.flatMap((x) => r.map((v, f) => (f === i ? x : v))));
      return xs.map((_, j) => out.probabilities[j * 3 + k]);
    });
  }, row);
  curves.forEach((c, i) => assert.deepEqual(c.ys, want[i], c.feature));
  // A slider move redraws them for the new row.
  await page.focus('#f-2-range');
  await page.keyboard.press('PageUp');
  const moved = await page.evaluate(() => [0, 1, 2, 3].map((i) => Number(document.getElementById(`f-${i}`).value)));
  await page.waitForFunction((v) => document.querySelector('.whatif').dataset.row === JSON.stringify(v), moved);
});

test('explaining an Iris row in Chromium takes microseconds', async (t) => {
  const timing = await page.evaluate(async () => {
    const explainer = await window.edgewoodDemo.explainer;
    const row = [6.3, 3.3, 6, 2.5];
    for (let i = 0; i < 200; i++) await explainer.explain(row);
    const runs = [];
    for (let r = 0; r < 21; r++) {
      const t0 = performance.now();
      for (let i = 0; i < 200; i++) await explainer.explain(row);
      runs.push(((performance.now() - t0) / 200) * 1000);
    }
    runs.sort((a, b) => a - b);
    const data = new Float64Array(1000 * 4).map((_, i) => [6.3, 3.3, 6, 2.5][i % 4]);
    const t0 = performance.now();
    await explainer.explainBatch(data, 1000);
    return { median: runs[10], batch: performance.now() - t0 };
  });
  t.diagnostic(`explain: ${timing.median.toFixed(2)} µs per Iris row (median of 21 × 200 calls); explainBatch: ${timing.batch.toFixed(2)} µs per row`);
  // Generous: a shared CI machine; the goal (20 µs) is measured and reported.
  assert.ok(timing.median < 500, `${timing.median} µs`);
});

test('a dropped model with covers is explained; one without shows why not', async () => {
  await page.setInputFiles('#model-file', fixtures + 'rf_regressor.joblib');
  await page.waitForFunction(() => document.getElementById('model-title').textContent === 'rf_regressor.joblib');
  await page.waitForFunction(() => document.getElementById('explain').dataset.state === 'ok');
  const drawn = await chart();
  const want = await page.evaluate(async (row) => (await window.edgewoodDemo.model.explain(row)).contributions, drawn.row);
  assert.deepEqual(drawn.bars, want);

  await page.setInputFiles('#model-file', root + 'core/models/iris.ewm');
  await page.waitForFunction(() => document.getElementById('model-title').textContent === 'iris.ewm');
  await page.waitForFunction(() => document.getElementById('explain').dataset.state === 'no-cover');
  assert.match((await chart()).note, /no tree covers/);
  assert.equal(await page.isVisible('#explain-chart'), false);
  await page.click('#back-to-iris');
  await page.waitForFunction(() => document.getElementById('explain').dataset.state === 'ok');
  assert.deepEqual(pageErrors, []);
});
