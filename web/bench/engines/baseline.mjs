// Benchmark adapter with no engine at all: its "prediction" returns fixed numbers. Its
// cold start is Chromium's own floor on this machine (navigation, the page, one module
// import), measured in the same run as the engines, so that each engine's own share
// of its cold start can be read off next to it.
const FIXED = [1, 0, 0];

export async function init() {
  return {
    prepare: (rows) => rows,
    one: () => FIXED,
    batch: (data, n) => new Float64Array(n * 3),
  };
}
