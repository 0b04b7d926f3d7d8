// Benchmark adapter: the `edgewood` package as a page uses it, predicting rows given by
// feature name. The model is the converted iris_rf100 forest fetched as .ewm, like the
// peers fetch theirs (the embedded Model.iris() is the same model, without the fetch).
import { Model } from '/pkg/index.js';

export async function init() {
  const model = await Model.load(await fetch('/bench/peers/iris_rf100.ewm'));
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
