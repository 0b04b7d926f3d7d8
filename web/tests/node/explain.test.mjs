// Node tests of `model.explain` and `model.explainBatch`: every committed explanation
// fixture (the files the Rust parity tests read: shap.TreeExplainer for scikit-learn,
// pred_contribs for XGBoost, pred_contrib for LightGBM), converted in wasm and explained
// by the lazily loaded explainer wasm, within the same bounds as the Rust tests; base
// plus contributions equals the raw output on every row; refusals carry a code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fixtures } from '../paths.mjs';
import { readCsv } from '../csv.mjs';
import { pkgDir } from '../paths.mjs';

const { convert } = await import(pkgDir + 'convert-node.js');
const { Model, EdgewoodError } = await import(pkgDir + 'node.js');

/** shap and LightGBM explain in float64, as Edgewood does. */
const FLOAT64 = 1e-9;
/** XGBoost keeps its TreeSHAP path weights and sums in float32. */
const XGBOOST = 1e-6;

const FIXTURES = [
  ['iris_rf10', 'iris_rf10.joblib', FLOAT64],
  ['cancer_rf', 'cancer_rf.joblib', FLOAT64],
  ['rf_regressor', 'rf_regressor.joblib', FLOAT64],
  ['rf_nan', 'rf_nan.joblib', FLOAT64],
  ['extra_trees_classifier', 'extra_trees_classifier.joblib', FLOAT64],
  ['extra_trees_regressor', 'extra_trees_regressor.joblib', FLOAT64],
  ['skl_gb_binary', 'skl_gb_binary.joblib', FLOAT64],
  ['skl_gb_regressor', 'skl_gb_regressor.joblib', FLOAT64],
  ['skl_hgb_binary_nan', 'skl_hgb_binary_nan.joblib', FLOAT64],
  ['skl_hgb_multiclass_nan', 'skl_hgb_multiclass_nan.joblib', FLOAT64],
  ['skl_hgb_regressor_nan', 'skl_hgb_regressor_nan.joblib', FLOAT64],
  ['xgb_binary', 'xgb_binary.json', XGBOOST],
  ['xgb_multiclass', 'xgb_multiclass.json', XGBOOST],
  ['xgb_regression', 'xgb_regression.json', XGBOOST],
  ['xgb_nan', 'xgb_nan.json', XGBOOST],
  ['xgb_categorical', 'xgb_categorical.json', XGBOOST],
  ['lgbm_binary', 'lgbm_binary.txt', FLOAT64],
  ['lgbm_multiclass', 'lgbm_multiclass.txt', FLOAT64],
  ['lgbm_regression', 'lgbm_regression.txt', FLOAT64],
  ['lgbm_nan', 'lgbm_nan.txt', FLOAT64],
  ['lgbm_categorical', 'lgbm_categorical.txt', FLOAT64],
  ['lgbm_zero_as_missing', 'lgbm_zero_as_missing.txt', FLOAT64],
  ['cb_regression', 'cb_regression.json', FLOAT64],
  ['cb_binary', 'cb_binary.json', FLOAT64],
  ['cb_multiclass', 'cb_multiclass.cbm', FLOAT64],
  ['cb_nan', 'cb_nan.json', FLOAT64],
  ['cb_nan_max', 'cb_nan_max.cbm', FLOAT64],
  ['cb_onehot', 'cb_onehot.cbm', FLOAT64],
];

const number = (c) => (c === '' ? NaN : Number(c));

/** The library's raw output per row: its margins, else its probabilities or values. */
function rawOutputs(name, nOutputs) {
  const margin = fixtures + `${name}.margin.csv`;
  const { header, rows } = readCsv(existsSync(margin) ? margin : fixtures + `${name}.expected.csv`);
  const skip = header[0] === 'label' ? 1 : 0;
  return rows.map((r) => r.slice(skip, skip + nOutputs).map(number));
}

async function load(file) {
  return Model.load(await convert(readFileSync(fixtures + file)));
}

test('explanations match the libraries on every fixture row, and add up', async () => {
  for (const [name, file, bound] of FIXTURES) {
    const model = await load(file);
    const nf = model.schema.features.length;
    const input = readCsv(fixtures + `${name}.input.csv`).rows.map((r) => r.map(number));
    const expected = readCsv(fixtures + `${name}.explain.csv`);
    // The library's outputs: one per class, or one margin for a binary boosted model.
    const nOut = (expected.header.length - 1) / (nf + 1);
    const raw = rawOutputs(name, nOut);
    const rows = expected.rows.map((line) => Number(line[0]));
    const batch = await model.explainBatch(input.flatMap((r, i) => (rows.includes(i) ? r : [])), rows.length);
    const k = batch.outputs;
    assert.equal(k, model.schema.task === 'classification' ? model.schema.classes.length : 1, name);
    for (const [j, line] of expected.rows.entries()) {
      const r = rows[j];
      const theirs = line.slice(1).map(number);
      const one = await model.explain(input[r]);
      for (let o = 0; o < nOut; o++) {
        // A single margin is the last class's (the second of two).
        const c = nOut === 1 ? k - 1 : o;
        const block = theirs.slice(o * (nf + 1), (o + 1) * (nf + 1));
        const scale = block.reduce((s, v) => s + Math.abs(v), 0);
        const contributions = Array.isArray(one.contributions) ? one.contributions[c] : one.contributions;
        const base = Array.isArray(one.base) ? one.base[c] : one.base;
        let total = base;
        model.schema.features.forEach(({ name: feature }, f) => {
          const ours = contributions[feature];
          assert.ok(Object.is(ours, batch.contributions[(j * k + c) * nf + f]), `${name} row ${r}: explain = explainBatch`);
          assert.ok(
            Math.abs(ours - block[f]) <= bound * scale,
            `${name} row ${r} output ${o} ${feature}: ${ours} vs the library's ${block[f]}`,
          );
          total += ours;
        });
        assert.ok(Math.abs(base - block[nf]) <= bound * scale, `${name} output ${o} base: ${base} vs ${block[nf]}`);
        assert.ok(Object.is(base, batch.base[c]), `${name}: base of explain = explainBatch`);
        // Additivity: base + contributions = the raw output, on every row.
        assert.ok(
          Math.abs(total - raw[r][o]) <= bound * Math.max(scale, 1),
          `${name} row ${r} output ${o}: ${total} ≠ raw output ${raw[r][o]}`,
        );
      }
      if (nOut === 1 && k === 2) {
        // The first class of a binary boosted model: the negated margin.
        for (const { name: feature } of model.schema.features) {
          assert.equal(one.contributions[0][feature], 0 - one.contributions[1][feature]);
        }
        assert.equal(one.base[0], 0 - one.base[1]);
      }
    }
    model.free();
  }
});

test('an explanation has the documented shape', async () => {
  const iris = await load('iris_rf10.joblib');
  const row = [6.3, 3.3, 6.0, 2.5];
  const e = await iris.explain(row);
  assert.equal(e.space, 'probability');
  assert.equal(e.base.length, 3);
  assert.equal(e.contributions.length, 3);
  assert.deepEqual(Object.keys(e.contributions[2]), iris.schema.features.map((f) => f.name));
  // For a forest, base + contributions is the predicted probability of each class.
  const p = iris.predict(row);
  iris.schema.classes.forEach((label, c) => {
    const total = Object.values(e.contributions[c]).reduce((s, v) => s + v, e.base[c]);
    assert.ok(Math.abs(total - p.probabilities[label]) < 1e-12, `${label}: ${total}`);
  });
  // By name as well as by position.
  const named = Object.fromEntries(iris.schema.features.map((f, i) => [f.name, row[i]]));
  assert.deepEqual(await iris.explain(named), e);

  const regressor = await load('rf_regressor.joblib');
  const r = await regressor.explain(readCsv(fixtures + 'rf_regressor.input.csv').rows[0].map(number));
  assert.equal(typeof r.base, 'number');
  assert.equal(r.space, 'value');
  assert.equal(Object.keys(r.contributions).length, regressor.schema.features.length);

  const boosted = await load('xgb_binary.json');
  assert.equal((await boosted.explain(readCsv(fixtures + 'xgb_binary.input.csv').rows[0].map(number))).space, 'margin');
});

test('a model without covers is refused with no_cover, a refused row with its code', async () => {
  const iris = Model.iris();
  await assert.rejects(iris.explain([5.1, 3.5, 1.4, 0.2]), (e) => {
    assert.ok(e instanceof EdgewoodError && e instanceof Error);
    assert.equal(e.code, 'no_cover');
    assert.match(e.message, /cover/);
    return true;
  });
  await assert.rejects(iris.explainBatch(new Float64Array(4), 1), (e) => e.code === 'no_cover');
  // The prediction side is unaffected.
  assert.equal(iris.predict([5.1, 3.5, 1.4, 0.2]).label, 'setosa');

  const model = await load('iris_rf10.joblib');
  const names = model.schema.features.map((f) => f.name);
  await assert.rejects(model.explain({ [names[0]]: 1, [names[1]]: 1, [names[2]]: 1 }), (e) => e.code === 'missing_feature');
  await assert.rejects(model.explain([1, 2, 3]), (e) => e.code === 'row_length');
  await assert.rejects(model.explain('x'), (e) => e.code === 'invalid_argument');
  await assert.rejects(model.explainBatch([1, 2, 3, 4, 1, 2, 3, Infinity]), (e) => e.code === 'not_finite' && e.row === 1);
  model.free();
  await assert.rejects(model.explain([1, 2, 3, 4]), (e) => e.code === 'freed');
});

test('the demo\'s Iris with covers is the embedded Iris plus covers: same bytes as a fresh conversion, same predictions', async () => {
  const ewm = await convert(readFileSync(fixtures + 'iris_rf100.joblib'), {
    featureNames: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    classNames: ['setosa', 'versicolor', 'virginica'],
    validRanges: { '*': { min: 0, max: 10 } },
    allowMissing: false,
  });
  const committed = readFileSync(new URL('../../demo/iris.ewm', import.meta.url));
  assert.ok(
    Buffer.from(ewm).equals(committed),
    'web/demo/iris.ewm is not the conversion of tests/fixtures/iris_rf100.joblib with the Iris schema: ' +
      'write the conversion above to it',
  );
  const twin = Model.fromBytes(committed);
  const iris = Model.iris();
  assert.deepEqual({ ...twin.schema, bytes: 0 }, { ...iris.schema, bytes: 0 });
  const rows = readCsv(fixtures + 'iris_rf100.input.csv').rows.map((r) => r.map(number))
    .filter((r) => r.every((v) => v >= 0 && v <= 10));
  const data = new Float64Array(rows.flat());
  assert.deepEqual(twin.predictBatch(data).probabilities, iris.predictBatch(data).probabilities);
  assert.equal((await twin.explain(rows[0])).space, 'probability');
});
