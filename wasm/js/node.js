// Node.js entry of `edgewood` (Node 20+): reads the engine wasm from the package
// directory (the SIMD build where WebAssembly SIMD runs, as in index.js) and
// instantiates it synchronously, then exposes the same API as index.js.

import { readFileSync } from 'node:fs';
import { initSync } from './edgewood.js';
import { attach } from './api.js';
import { simd } from './simd.js';

attach(
  initSync({
    module: readFileSync(new URL(simd ? 'edgewood_simd_bg.wasm' : 'edgewood_bg.wasm', import.meta.url)),
  }),
  () => import('./explain-node.js').then((m) => m.loadExplainer()),
);

export { Model, EdgewoodError, version } from './api.js';
