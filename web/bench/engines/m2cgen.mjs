// Benchmark adapter: the Iris forest compiled to plain JavaScript by m2cgen.
import { score } from '/bench/peers/m2cgen_iris.js';

export async function init() {
  return {
    prepare: (rows) => rows,
    one: (row) => score(row),
    batch: (data, n) => {
      const out = new Float64Array(n * 3);
      const row = [0, 0, 0, 0];
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < 4; j++) row[j] = data[i * 4 + j];
        out.set(score(row), i * 3);
      }
      return out;
    },
  };
}
