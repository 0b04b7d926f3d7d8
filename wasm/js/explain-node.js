// Node.js loader of the explainer part of `edgewood`: node.js imports this module on the
// first `model.explain`, which reads the explainer wasm from the package directory.

import { readFile } from 'node:fs/promises';
import { initSync, Explaining } from './edgewood_explain.js';

/** Instantiates the explainer wasm: its `Explaining` class and its memory. */
export async function loadExplainer() {
  const module = await readFile(new URL('edgewood_explain_bg.wasm', import.meta.url));
  return { Explaining, memory: initSync({ module }).memory };
}
