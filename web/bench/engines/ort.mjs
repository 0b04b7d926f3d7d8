// Benchmark adapter: onnxruntime-web, wasm backend, one thread, the skl2onnx Iris model.
import * as ort from '/ort/ort.wasm.min.mjs';

export async function init() {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = '/ort/';
  const session = await ort.InferenceSession.create('/bench/peers/rf_iris.onnx', {
    executionProviders: ['wasm'],
  });
  const input = session.inputNames[0];
  const output = session.outputNames.find((n) => n.startsWith('prob')) ?? session.outputNames[1];
  const run = async (data, n) => {
    const feeds = { [input]: new ort.Tensor('float32', data, [n, 4]) };
    return (await session.run(feeds, [output]))[output].data;
  };
  return {
    async: true,
    prepare: (rows) => rows.map((r) => Float32Array.from(r)),
    one: (row) => run(row instanceof Float32Array ? row : Float32Array.from(row), 1),
    batch: (data, n) => run(data instanceof Float32Array ? data : Float32Array.from(data), n),
  };
}
