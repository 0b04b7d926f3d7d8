// Browser and bundler loader of the explainer part of `edgewood`: the engine's entry
// (index.js) imports this module dynamically on the first `model.explain`, so a page
// that only predicts never fetches it or its wasm (located next to this file, so
// bundlers emit it as an asset).

import init, { Explaining } from './edgewood_explain.js';

/** Instantiates the explainer wasm: its `Explaining` class and its memory. */
export async function loadExplainer() {
  const exports = await init({ module_or_path: new URL('edgewood_explain_bg.wasm', import.meta.url) });
  return { Explaining, memory: exports.memory };
}
