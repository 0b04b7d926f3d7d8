// Benchmark adapter (opt-in: BENCH_ENGINES=…,edgewood-inline): the `edgewood` browser
// entry with the engine wasm inlined as base64 (written by run.mjs from the built
// package), so that the page fetches one file; the wasm is then compiled from bytes
// in memory, not while it streams in. Measures whether inlining would pay; otherwise
// as the edgewood adapter.
import { Model } from '/bench/peers/edgewood_inline.js';

export async function init() {
  const model = Model.iris();
  const names = model.schema.features.map((f) => f.name);
  const classes = model.schema.classes;
  const named = (r) => Object.fromEntries(names.map((n, i) => [n, r[i]]));
  return {
    prepare: (rows) => rows.map(named),
    one: (row) => model.predict(Array.isArray(row) ? named(row) : row),
    probabilities: (p) => classes.map((c) => p.probabilities[c]),
    batch: (data, n) => model.predictBatch(data, n).probabilities,
  };
}
