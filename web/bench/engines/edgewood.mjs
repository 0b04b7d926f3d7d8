// Benchmark adapter: the `edgewood` package as a page that cares about start-up uses
// it: the embedded model `Model.iris()` (the same iris_rf100 forest as the peers' files,
// so nothing but the engine is fetched), predicting rows given by feature name.
// `verify()`, run in the warm part only, loads the .ewm that the package's converter
// wrote from the scikit-learn joblib and checks that both models agree bit for bit.
import { Model } from '/pkg/index.js';

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
    async verify(rows) {
      const loaded = await Model.load(await fetch('/bench/peers/iris_rf100.ewm'));
      const data = Float64Array.from(rows.flat());
      const a = model.predictBatch(data, rows.length).probabilities;
      const b = loaded.predictBatch(data, rows.length).probabilities;
      loaded.free();
      const differ = a.findIndex((v, i) => !Object.is(v, b[i]));
      if (a.length !== b.length || differ >= 0) {
        throw new Error(`Model.iris() and the converted iris_rf100.ewm differ at value ${differ}`);
      }
      return rows.length;
    },
  };
}
