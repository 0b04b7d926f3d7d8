// Node tests of `edgewood/convert`: scikit-learn files converted in wasm predict like
// scikit-learn (bit for bit, every fixture row), and hostile or foreign bytes are
// refused with a code and a message.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pkgDir, fixtures } from '../paths.mjs';
import { readCsv } from '../csv.mjs';

const { convert, EdgewoodError } = await import(pkgDir + 'convert-node.js');
const { Model } = await import(pkgDir + 'node.js');

const IRIS_NAMES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

/** Every row of `<name>.input.csv` predicted by `model` equals `<name>.expected.csv`. */
function assertParity(model, name) {
  const input = readCsv(fixtures + `${name}.input.csv`);
  const expected = readCsv(fixtures + `${name}.expected.csv`);
  const n = input.rows.length;
  const nf = input.header.length;
  const data = new Float64Array(n * nf);
  input.rows.forEach((cells, i) => cells.forEach((c, j) => (data[i * nf + j] = c === '' ? NaN : Number(c))));
  const out = model.predictBatch(data, n);
  if (expected.header[0] === 'value') {
    expected.rows.forEach((cells, i) => assert.ok(Object.is(out.values[i], Number(cells[0])), `row ${i}`));
    return n;
  }
  const k = expected.header.length - 1;
  expected.rows.forEach((cells, i) => {
    assert.equal(String(out.labels[i]), cells[0], `row ${i} label`);
    for (let c = 0; c < k; c++) {
      const got = out.probabilities[i * k + c];
      assert.ok(Object.is(got, Number(cells[c + 1])), `row ${i} class ${c}: ${got} vs ${cells[c + 1]}`);
    }
  });
  return n;
}

test('the Iris joblib converts in wasm and matches scikit-learn bit for bit on every row', async () => {
  const ewm = await convert(readFileSync(fixtures + 'iris_rf100.joblib'), { featureNames: IRIS_NAMES });
  assert.ok(ewm instanceof Uint8Array);
  const model = await Model.load(ewm);
  assert.deepEqual(model.schema.features.map((f) => f.name), IRIS_NAMES);
  assert.equal(model.schema.trees, 100);
  assert.match(model.schema.source, /RandomForestClassifier/);
  assert.ok(assertParity(model, 'iris_rf100') > 300);
});

test('every joblib compression and pickle protocol converts to the same model', async () => {
  const base = await convert(readFileSync(fixtures + 'iris_rf10.joblib'));
  assertParity(await Model.load(base), 'iris_rf10');
  for (const v of ['zlib', 'gzip', 'bz2', 'xz', 'lzma', 'lz4', 'p2', 'p3', 'p4', 'p5']) {
    const ewm = await convert(readFileSync(fixtures + `iris_rf10_${v}.joblib`));
    assertParity(await Model.load(ewm), 'iris_rf10');
  }
});

test('a regressor converts and matches', async () => {
  const model = await Model.load(await convert(new Blob([readFileSync(fixtures + 'rf_regressor.joblib')])));
  assert.equal(model.schema.task, 'regression');
  assertParity(model, 'rf_regressor');
});

test('options: valid ranges and missing values end up in the schema', async () => {
  const ewm = await convert(readFileSync(fixtures + 'iris_rf10.joblib').buffer, {
    featureNames: IRIS_NAMES,
    validRanges: { '*': { min: 0, max: 10 }, petal_width: { min: 0, max: 3 } },
    allowMissing: false,
  });
  const model = Model.fromBytes(ewm);
  assert.deepEqual(model.schema.features[0].validRange, { min: 0, max: 10 });
  assert.deepEqual(model.schema.features[3].validRange, { min: 0, max: 3 });
  assert.equal(model.schema.features[3].allowMissing, false);
  assert.throws(() => model.predict([5, 3, 1, 4]), (e) => e.code === 'out_of_range' && e.feature === 'petal_width');
});

test('.ewm input passes through after validation', async () => {
  const ewm = await convert(readFileSync(fixtures + 'iris_rf10.joblib'));
  assert.deepEqual(await convert(ewm), ewm);
  const broken = new Uint8Array(ewm);
  broken[4] = 9;
  await assert.rejects(convert(broken), (e) => e instanceof EdgewoodError && e.code === 'corrupt_model');
});

test('foreign and hostile bytes are refused, never run', async () => {
  const refuse = async (bytes, code, pattern) => {
    await assert.rejects(convert(bytes), (e) => {
      assert.ok(e instanceof EdgewoodError, String(e));
      assert.equal(e.code, code, e.message);
      assert.match(e.message, pattern);
      return true;
    });
  };
  await refuse(new TextEncoder().encode('sepal_length,sepal_width\n1,2\n'), 'unknown_format', /format/);
  await refuse(new Uint8Array(0), 'unknown_format', /format/);
  const evil = Uint8Array.from("\x80\x02cos\nsystem\n(S'echo hi'\ntR.", (c) => c.charCodeAt(0));
  await refuse(evil, 'refused_global', /os\.system/);
  const dict = Uint8Array.from('\x80\x04}\x94.', (c) => c.charCodeAt(0));
  await refuse(dict, 'unsupported_estimator', /dict/);
  const cut = readFileSync(fixtures + 'iris_rf100.joblib').subarray(0, 5000);
  await assert.rejects(convert(cut), (e) => e instanceof EdgewoodError && e.message.length > 10);
  await assert.rejects(convert('model.joblib'), (e) => e.code === 'invalid_argument');
  await assert.rejects(convert(cut, { featureNames: 'x' }), (e) => e.code === 'invalid_argument');
  const small = readFileSync(fixtures + 'iris_rf10.joblib');
  await assert.rejects(convert(small, { validRanges: { '*': { min: 5, max: 1 } } }), (e) => e.code === 'invalid_argument' && /min <= max/.test(e.message));
  await assert.rejects(convert(small, { validRanges: { '*': { min: NaN, max: 1 } } }), (e) => e.code === 'invalid_argument');
  await assert.rejects(convert(small, { validRanges: { x0: 3 } }), (e) => e.code === 'invalid_argument');
});

test('decompression bombs are refused at the cap, which maxModelMib sets (default 256 MiB)', async () => {
  const { deflateSync, gzipSync } = await import('node:zlib');
  // A pickle header, then 3 MiB of zeros: zlib (no declared size) and gzip (ISIZE).
  const plain = new Uint8Array(3 << 20);
  plain.set([0x80, 4]);
  for (const [codec, bomb] of [['zlib', deflateSync(plain)], ['gzip', gzipSync(plain)]]) {
    assert.ok(bomb.length < 16 << 10, `${codec}: ${bomb.length} bytes`);
    await assert.rejects(convert(bomb, { maxModelMib: 2 }), (e) => {
      assert.equal(e.code, 'limit_exceeded', `${codec}: ${e.message}`);
      assert.match(e.message, /decompressed size exceeds the limit of 2097152/);
      return true;
    });
    // Under the default cap the stream is read, and refused as no model.
    await assert.rejects(convert(bomb), (e) => e.code === 'bad_pickle');
  }
  await assert.rejects(convert(deflateSync(plain), { maxModelMib: 1.5 }), (e) => e.code === 'invalid_argument');
});

test('boosted models (XGBoost JSON/UBJSON, LightGBM, scikit-learn GB/HGB) convert in wasm and match their library bit for bit', async () => {
  const manifest = JSON.parse(readFileSync(fixtures + 'manifest.json', 'utf8'));
  // Every boosted fixture is exact, multiclass probabilities included (each library's
  // own exp); ONNX is tested against its source model elsewhere.
  const exact = manifest.filter(
    (e) =>
      ['xgboost-json', 'xgboost-ubjson', 'lightgbm-text'].includes(e.format) ||
      e.name.startsWith('skl_') ||
      // scikit-learn 1.1–1.3 GradientBoosting (issue 13).
      e.name.startsWith('old_gb_') ||
      // Trees and forests fitted on one class (issue 13): one probability, 1.
      e.name.startsWith('single_class_'),
  );
  assert.ok(exact.length >= 64, `${exact.length} fixtures`);
  let rows = 0;
  for (const entry of exact) {
    const model = await Model.load(await convert(readFileSync(fixtures + entry.model)));
    rows += assertParity(model, entry.expected);
  }
  assert.ok(rows > 5000, `${rows} rows`);
});

test('CatBoost JSON exports and .cbm files convert in wasm and match CatBoost; CTR models are refused naming CTRs', async () => {
  const manifest = JSON.parse(readFileSync(fixtures + 'manifest.json', 'utf8'));
  const entries = manifest.filter((e) => e.format === 'catboost-json' || e.format === 'catboost-cbm');
  assert.ok(entries.length >= 14, `${entries.length} fixtures`);
  let rows = 0;
  for (const entry of entries) {
    const bytes = readFileSync(fixtures + entry.model);
    if (entry.output === 'refused') {
      await assert.rejects(convert(bytes), (e) => {
        assert.ok(e instanceof EdgewoodError);
        assert.equal(e.code, 'import_failed');
        assert.match(e.message, /CTRs/);
        return true;
      });
      continue;
    }
    // MultiClass probabilities too: CatBoost's own fast exp, reproduced bit for bit.
    const model = await Model.load(await convert(bytes));
    rows += assertParity(model, entry.expected);
  }
  assert.ok(rows > 3000, `${rows} rows`);
});
