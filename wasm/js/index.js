// Browser and bundler entry of `edgewood`: fetches and instantiates the engine wasm
// (located next to this file, so bundlers such as Vite and webpack emit it as an
// asset), then exposes the API. Top-level await makes Model.iris() synchronous.
//
// The package ships this entry bundled with the modules it imports (the wasm-bindgen
// glue edgewood.js, api.js, error.js) as one self-contained, minified module: a page
// then fetches two files, this one and the wasm, both of which it can announce with
// preloads. The
// explainer (explain.js, its glue and its wasm) is fetched only when a model explains.
//
// The engine comes in two builds with one glue: edgewood_simd_bg.wasm where the runtime
// has WebAssembly SIMD (simd.js), else edgewood_bg.wasm. Each URL is written out whole,
// so that bundlers emit both files.

import init from './edgewood.js';
import { attach } from './api.js';
import { simd } from './simd.js';

attach(
  await init({
    module_or_path: simd
      ? new URL('edgewood_simd_bg.wasm', import.meta.url)
      : new URL('edgewood_bg.wasm', import.meta.url),
  }),
  // The explainer is a second wasm, fetched on the first explanation (the bundle keeps
  // this import dynamic, so explain.js stays a file of its own).
  () => import('./explain.js').then((m) => m.loadExplainer()),
);

export { Model, EdgewoodError, version } from './api.js';
