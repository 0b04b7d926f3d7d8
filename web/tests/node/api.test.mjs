// Node tests of the `edgewood` package API (the built package in wasm/pkg, Node entry):
// predictions, schema, batches, loading, and every kind of bad input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { pkgDir, fixtures, root } from '../paths.mjs';
import { readCsv } from '../csv.mjs';

const { Model, EdgewoodError, version } = await import(pkgDir + 'node.js');

const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const IRIS_EWM = readFileSync(root + 'core/models/iris.ewm');

/** Runs `f`, which must throw an EdgewoodError with these fields; returns it. */
function refuses(f, code, feature) {
  let error;
  try {
    f();
  } catch (e) {
    error = e;
  }
  assert.ok(error, `expected ${code}, nothing was thrown`);
  assert.ok(error instanceof Error, 'an Error');
  assert.ok(error instanceof EdgewoodError, `an EdgewoodError, got ${error}`);
  assert.equal(error.code, code, error.message);
  assert.equal(error.feature, feature, error.message);
  assert.ok(error.message.length > 10);
  if (feature) assert.match(error.message, new RegExp(`'${feature}'`));
  return error;
}

test('version names the package and the format', () => {
  const v = version();
  const pkg = JSON.parse(readFileSync(pkgDir + 'package.json', 'utf8'));
  assert.equal(v.version, pkg.version);
  assert.equal(v.format, 2);
  // Node has WebAssembly SIMD: the entry loads the engine's SIMD build.
  assert.equal(v.simd, true);
});

test('without WebAssembly SIMD, the Node entry loads the baseline build, which gives the same bits', () => {
  const rows = readCsv(fixtures + 'iris_rf100.input.csv').rows.map((r) => r.map(Number)).filter((r) => r.every((v) => v >= 0 && v <= 10));
  const script = `
    const { Model, version } = await import(${JSON.stringify(pkgDir + 'node.js')});
    const rows = ${JSON.stringify(rows)};
    const iris = Model.iris();
    const batch = iris.predictBatch(rows.flat(), rows.length).probabilities;
    const one = rows.flatMap((r) => Object.values(iris.predict(r).probabilities));
    console.log(JSON.stringify({ simd: version().simd, batch: Array.from(batch), one }));
  `;
  const run = (hideSimd) => JSON.parse(execFileSync(process.execPath, [
    ...(hideSimd ? ['--import', 'data:text/javascript,WebAssembly.validate = () => false;'] : []),
    '--input-type=module', '-e', script,
  ], { encoding: 'utf8' }));
  const simd = run(false);
  const baseline = run(true);
  assert.equal(simd.simd, true);
  assert.equal(baseline.simd, false);
  assert.equal(simd.batch.length, rows.length * 3);
  // JSON keeps every float64 exactly.
  assert.deepEqual(baseline.batch, simd.batch);
  assert.deepEqual(baseline.one, simd.one);
  assert.deepEqual(simd.one, simd.batch);
});

test('the Iris schema', () => {
  const { schema } = Model.iris();
  assert.equal(schema.task, 'classification');
  assert.deepEqual(
    schema.features.map((f) => f.name),
    ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
  );
  for (const f of schema.features) {
    assert.deepEqual(f.validRange, { min: 0, max: 10 });
    assert.equal(f.allowMissing, false);
  }
  assert.deepEqual(schema.classes, ['setosa', 'versicolor', 'virginica']);
  assert.ok(schema.trees >= 1 && schema.bytes === IRIS_EWM.length);
  assert.ok(Object.isFrozen(schema));
});

test('predict a setosa by name and by position', () => {
  const iris = Model.iris();
  const p = iris.predict(SETOSA);
  assert.equal(p.label, 'setosa');
  assert.equal(p.confidence, 1);
  assert.deepEqual(p.probabilities, { setosa: 1, versicolor: 0, virginica: 0 });
  assert.deepEqual(iris.predict([5.1, 3.5, 1.4, 0.2]), p);
  assert.deepEqual(iris.predict(new Float64Array([5.1, 3.5, 1.4, 0.2])), p);
  // Key order does not matter.
  const reversed = Object.fromEntries(Object.entries(SETOSA).reverse());
  assert.deepEqual(iris.predict(reversed), p);
});

test('probabilities sum to 1 and confidence is the top one', () => {
  const iris = Model.iris();
  for (const row of [[6.3, 3.3, 6.0, 2.5], [5.9, 3.0, 4.2, 1.5], [6.0, 2.7, 5.1, 1.6]]) {
    const p = iris.predict(row);
    const values = Object.values(p.probabilities);
    assert.ok(Math.abs(values.reduce((a, b) => a + b) - 1) < 1e-12);
    assert.equal(p.confidence, Math.max(...values));
    assert.equal(p.probabilities[p.label], p.confidence);
  }
});

test('named-input errors name the feature', () => {
  const iris = Model.iris();
  refuses(() => iris.predict({ ...SETOSA, petal_width: 20 }), 'out_of_range', 'petal_width');
  refuses(() => iris.predict({ ...SETOSA, sepal_length: -0.5 }), 'out_of_range', 'sepal_length');
  refuses(() => iris.predict({ ...SETOSA, petal_length: NaN }), 'not_finite', 'petal_length');
  refuses(() => iris.predict({ ...SETOSA, petal_length: null }), 'not_finite', 'petal_length');
  refuses(() => iris.predict({ ...SETOSA, sepal_width: Infinity }), 'not_finite', 'sepal_width');
  refuses(() => iris.predict({ ...SETOSA, sepal_width: '3.5' }), 'invalid_type', 'sepal_width');
  refuses(() => iris.predict({ ...SETOSA, sepal_width: undefined }), 'invalid_type', 'sepal_width');
  const { petal_width, ...three } = SETOSA;
  refuses(() => iris.predict(three), 'missing_feature', 'petal_width');
  refuses(() => iris.predict({ ...SETOSA, colour: 1 }), 'unknown_feature', 'colour');
  refuses(() => iris.predict({ petal_lenght: 1.4, ...three }), 'unknown_feature', 'petal_lenght');
  refuses(() => iris.predict({}), 'missing_feature', 'sepal_length');
  const e = refuses(() => iris.predict({ ...SETOSA, petal_width: 20 }), 'out_of_range', 'petal_width');
  assert.equal(e.message, "feature 'petal_width' must be between 0 and 10, got 20");
});

test('positional and argument errors', () => {
  const iris = Model.iris();
  refuses(() => iris.predict([5.1, 3.5, 1.4]), 'row_length', undefined);
  refuses(() => iris.predict([5.1, 3.5, 1.4, 0.2, 9]), 'row_length', undefined);
  refuses(() => iris.predict([5.1, 'x', 1.4, 0.2]), 'invalid_type', 'sepal_width');
  refuses(() => iris.predict(5.1), 'invalid_argument', undefined);
  refuses(() => iris.predict(null), 'invalid_argument', undefined);
  refuses(() => iris.predictBatch('1,2,3,4', 1), 'invalid_argument', undefined);
  refuses(() => iris.predictBatch(new Float64Array(7), 2), 'row_length', undefined);
  refuses(() => iris.predictBatch(new Float64Array(8), 1.5), 'invalid_argument', undefined);
  // A failed call leaves the model usable.
  assert.equal(iris.predict(SETOSA).label, 'setosa');
});

test('batch equals row-by-row, for Float64Array, Float32Array and arrays', () => {
  const iris = Model.iris();
  const rows = [];
  for (let i = 0; i < 300; i++) {
    rows.push([4 + (i % 40) / 10, 2 + (i % 25) / 10, 1 + (i % 60) / 10, 0.1 + (i % 25) / 10]);
  }
  const flat = new Float64Array(rows.flat());
  const batch = iris.predictBatch(flat, rows.length);
  assert.equal(batch.labels.length, 300);
  assert.equal(batch.probabilities.length, 900);
  rows.forEach((row, i) => {
    const p = iris.predict(row);
    assert.equal(batch.labels[i], p.label);
    assert.equal(batch.schema, undefined);
    assert.deepEqual(Array.from(batch.probabilities.subarray(3 * i, 3 * i + 3)), Object.values(p.probabilities));
  });
  // nRows may be left out; plain arrays work.
  assert.deepEqual(iris.predictBatch(Array.from(flat)).probabilities, batch.probabilities);
  // Float32 input is the float32 values, widened exactly.
  const f32 = new Float32Array(flat);
  assert.deepEqual(iris.predictBatch(f32, 300).probabilities, iris.predictBatch(new Float64Array(f32), 300).probabilities);
  // An empty batch.
  assert.deepEqual(iris.predictBatch(new Float64Array(0), 0).labels, []);
});

test('batch errors name the row and the feature', () => {
  const iris = Model.iris();
  const data = new Float64Array([5.1, 3.5, 1.4, 0.2, 6.3, 3.3, 6.0, 2.5, 6.3, 3.3, NaN, 2.5]);
  const e = refuses(() => iris.predictBatch(data, 3), 'not_finite', 'petal_length');
  assert.equal(e.row, 2);
  assert.match(e.message, /^row 2: /);
});

test('a large batch grows wasm memory and single predictions still work', () => {
  const iris = Model.iris();
  const n = 200_000;
  const data = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) data.set([5.1, 3.5, 1.4, 0.2], 4 * i);
  const out = iris.predictBatch(data, n);
  assert.equal(out.labels[n - 1], 'setosa');
  assert.equal(iris.predict(SETOSA).label, 'setosa');
  assert.equal(Model.iris().predict(SETOSA).label, 'setosa');
});

test('load from Uint8Array, ArrayBuffer, Response, Blob and fromBytes', async () => {
  const expected = Model.iris().predict([6.3, 3.3, 6.0, 2.5]);
  const sources = [
    new Uint8Array(IRIS_EWM),
    IRIS_EWM.buffer.slice(IRIS_EWM.byteOffset, IRIS_EWM.byteOffset + IRIS_EWM.length),
    new Response(new Uint8Array(IRIS_EWM)),
    new Blob([IRIS_EWM]),
    new DataView(IRIS_EWM.buffer, IRIS_EWM.byteOffset, IRIS_EWM.length),
  ];
  for (const source of sources) {
    const model = await Model.load(source);
    assert.deepEqual(model.predict([6.3, 3.3, 6.0, 2.5]), expected);
  }
  assert.deepEqual(Model.fromBytes(new Uint8Array(IRIS_EWM)).predict([6.3, 3.3, 6.0, 2.5]), expected);
});

test('refused model files', async () => {
  const load = async (bytes) => {
    try {
      await Model.load(bytes);
    } catch (e) {
      assert.ok(e instanceof EdgewoodError, String(e));
      return e;
    }
    assert.fail('loaded');
  };
  assert.equal((await load(new TextEncoder().encode('hello, world'))).code, 'not_ewm');
  assert.equal((await load(new Uint8Array(0))).code, 'not_ewm');
  const truncated = await load(IRIS_EWM.subarray(0, 60));
  assert.equal(truncated.code, 'truncated');
  const v3 = new Uint8Array(IRIS_EWM);
  v3[4] = 3;
  assert.equal((await load(v3)).code, 'unsupported_version');
  const short = await load(IRIS_EWM.subarray(0, IRIS_EWM.length - 8));
  assert.equal(short.code, 'truncated');
  assert.equal((await load(new Response('nope', { status: 404, statusText: 'Not Found' }))).code, 'fetch_failed');
  assert.equal((await load('iris.ewm')).code, 'invalid_argument');
  assert.equal((await load(undefined)).code, 'invalid_argument');
});

test('corrupted model bytes never crash: refused at load or predicting normally', async () => {
  // A deterministic generator, so a failure can be replayed.
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  let refused = 0;
  for (let round = 0; round < 400; round++) {
    const bytes = new Uint8Array(IRIS_EWM);
    for (let k = 0; k < 1 + (round % 4); k++) bytes[next() % bytes.length] = next() & 0xff;
    let model;
    try {
      model = Model.fromBytes(bytes);
    } catch (e) {
      assert.ok(e instanceof EdgewoodError, `round ${round}: ${e}`);
      assert.ok(['not_ewm', 'unsupported_version', 'truncated', 'corrupt_model'].includes(e.code), e.code);
      refused++;
      continue;
    }
    try {
      model.predict(new Array(model.schema.features.length).fill(1));
    } catch (e) {
      assert.ok(e instanceof EdgewoodError, `round ${round}: ${e}`);
    }
  }
  assert.ok(refused > 0);
});

test('a freed model says so', () => {
  const iris = Model.iris();
  iris.free();
  iris.free();
  refuses(() => iris.predict(SETOSA), 'freed', undefined);
  refuses(() => iris.predictBatch(new Float64Array(4), 1), 'freed', undefined);
  // The schema's maxDepth is computed on first use, which a freed model refuses …
  refuses(() => iris.schema.maxDepth, 'freed', undefined);
});

test('the schema\'s maxDepth is computed once, on first use', () => {
  const iris = Model.iris();
  const depth = iris.schema.maxDepth;
  // scikit-learn grew the Iris forest's trees without a depth limit: a few levels.
  assert.ok(Number.isInteger(depth) && depth >= 2 && depth <= 20, `maxDepth ${depth}`);
  iris.free();
  // … and a value already computed stays readable after free().
  assert.equal(iris.schema.maxDepth, depth);
});

test('the constructor is private', () => {
  assert.throws(() => new Model(), TypeError);
});

test('bit-for-bit parity with scikit-learn on the Iris fixture rows', () => {
  const iris = Model.iris();
  const input = readCsv(fixtures + 'iris_rf100.input.csv');
  const expected = readCsv(fixtures + 'iris_rf100.expected.csv');
  assert.deepEqual(input.header, iris.schema.features.map((f) => f.name));
  assert.deepEqual(expected.header.slice(1), iris.schema.classes.map((c) => `p_${c}`));
  let compared = 0;
  let refused = 0;
  input.rows.forEach((cells, i) => {
    const row = cells.map((c) => (c === '' ? NaN : Number(c)));
    const inRange = row.every((v) => v >= 0 && v <= 10);
    if (!inRange) {
      // The Iris schema accepts 0–10 (the reference service's validation).
      assert.throws(() => iris.predict(row), (e) => ['out_of_range', 'not_finite'].includes(e.code));
      refused++;
      return;
    }
    const p = iris.predict(row);
    const want = expected.rows[i];
    assert.equal(p.label, want[0], `row ${i}`);
    iris.schema.classes.forEach((c, k) => {
      assert.ok(Object.is(p.probabilities[c], Number(want[k + 1])), `row ${i} ${c}: ${p.probabilities[c]} vs ${want[k + 1]}`);
    });
    compared++;
  });
  assert.ok(compared >= 150, `only ${compared} rows compared`);
  assert.ok(refused > 0);
});

test('an EdgewoodError is one to every copy of the class (the browser entry bundles its own)', async () => {
  // A second instance of error.js stands for the copy bundled into the browser entry.
  const other = await import(pkgDir + 'error.js?another-copy');
  assert.notEqual(other.EdgewoodError, EdgewoodError);
  const error = refuses(() => Model.iris().predict({ sepal_length: 5.1 }), 'missing_feature', 'sepal_width');
  assert.ok(error instanceof other.EdgewoodError);
  assert.ok(new other.EdgewoodError('m', 'code') instanceof EdgewoodError);
  assert.ok(!(new Error('plain') instanceof EdgewoodError));
  assert.ok(!({ name: 'EdgewoodError' } instanceof EdgewoodError));
});
