// Benchmark adapter (opt-in: BENCH_ENGINES=…,baseline-download): the baseline (no
// engine) plus one download as large as the edgewood engine's wasm, announced with a
// preload and read in full before the "prediction", as the edgewood page reads its
// wasm. Its cold start is what fetching that many bytes costs a page on this machine,
// with no JavaScript to evaluate and no WebAssembly to compile; run.mjs writes the file
// (web/bench/peers/download.wasm, the engine wasm's bytes under another name).
const FIXED = [1, 0, 0];

export async function init() {
  const bytes = await (await fetch('/bench/peers/download.wasm')).arrayBuffer();
  if (bytes.byteLength === 0) throw new Error('download.wasm is empty');
  return {
    prepare: (rows) => rows,
    one: () => FIXED,
    batch: (data, n) => new Float64Array(n * 3),
  };
}
