// The public JavaScript API of the `edgewood` package, shared by the browser and Node
// entries (index.js, node.js), which differ only in how they fetch the engine wasm.
//
// Rows travel through buffers in wasm memory: predict() writes the feature values into
// a Float64Array view of the engine's row buffer and calls the engine once, so a
// prediction allocates nothing on the Rust side and copies no objects across the
// boundary. Every input check (names, missing and out-of-range values) is the Rust
// core's, so the messages match the CLI and the HTTP service word for word.

import * as engine from './edgewood.js';
import { EdgewoodError } from './error.js';

export { EdgewoodError };

/** The engine's wasm exports (for `memory`), set by the entry that instantiated it. */
let wasm = null;

/** The entry's way to load the explainer wasm: resolves to `{ Explaining, memory }`. */
let loadExplainer = null;

/** The explainer wasm, loaded once for every model on the first explanation. */
let explainer = null;

/**
 * Called once by index.js / node.js with the exports of the instantiated engine and
 * a function that loads the explainer wasm (a second file, fetched only when needed).
 */
export function attach(exports, load) {
  wasm = exports;
  loadExplainer = load;
}

/** What contributions add up to, by the explainer's code (see `Explaining::space`). */
const SPACES = ['probability', 'value', 'margin'];

/** The error the engine recorded for the call that just failed. */
function engineError() {
  const feature = engine.last_error_feature();
  const row = engine.last_error_row();
  return new EdgewoodError(
    engine.last_error_message(),
    engine.last_error_code(),
    feature ?? undefined,
    row ?? undefined,
  );
}

function argumentError(message) {
  return new EdgewoodError(message, 'invalid_argument');
}

/** Whatever a caller may hand to Model.load, as bytes. */
async function bytesOf(source) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) {
    return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  }
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok) {
      throw new EdgewoodError(
        `could not fetch the model: HTTP ${source.status} ${source.statusText}`.trim(),
        'fetch_failed',
      );
    }
    return new Uint8Array(await source.arrayBuffer());
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return new Uint8Array(await source.arrayBuffer());
  }
  throw argumentError(
    'Model.load expects the .ewm bytes as a Uint8Array, an ArrayBuffer, a Response or a Blob',
  );
}

function syncBytesOf(source) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) {
    return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  }
  throw argumentError('Model.fromBytes expects the .ewm bytes as a Uint8Array or an ArrayBuffer');
}

function range(pair) {
  return pair.length === 2 ? { min: pair[0], max: pair[1] } : null;
}

/** A value given for a feature: a number, or null for a missing value. */
function numberFor(name, value) {
  if (typeof value === 'number') return value;
  if (value === null) return NaN;
  const got = value === undefined ? 'undefined' : typeof value;
  return new EdgewoodError(
    `feature '${name}' must be a number, got ${got === 'string' ? `the string '${value}'` : got}`,
    'invalid_type',
    name,
  );
}

const PRIVATE = Symbol('edgewood.private');

/** A tree-ensemble model, ready to predict. */
export class Model {
  #engine;
  #nf;
  #len;
  #names;
  #classes; // labels as returned (numbers for integer-labelled models)
  #keys; // labels as strings, the keys of `probabilities`
  #classifier;
  #schema;
  #template = {}; // { class: 0, … } in class order, copied per prediction
  #buffer = null; // the wasm memory buffer the two views below belong to
  #row = null;
  #out = null;
  #featureTemplate = {}; // { feature: 0, … } in schema order, copied per explanation
  #explaining = null; // a promise of this model's explainer, made on the first explanation
  #decoding = false; // whether the engine was asked to decode the trees (see predict)

  constructor(token, eng) {
    if (token !== PRIVATE) {
      throw new TypeError('use Model.iris(), Model.load(bytes) or Model.fromBytes(bytes)');
    }
    this.#engine = eng;
    this.#nf = eng.n_features();
    this.#len = eng.prediction_len();
    this.#classifier = eng.is_classifier();
    this.#names = [];
    const features = [];
    for (let i = 0; i < this.#nf; i++) {
      const name = eng.feature_name(i);
      this.#names.push(name);
      this.#featureTemplate[name] = 0;
      features.push({
        name,
        validRange: range(eng.valid_range(i)),
        trainRange: range(eng.train_range(i)),
        allowMissing: eng.allows_missing(i),
      });
    }
    const integer = eng.integer_labels();
    this.#keys = [];
    this.#classes = [];
    if (this.#classifier) {
      for (let i = 0; i < this.#len; i++) {
        const label = eng.class_label(i);
        this.#keys.push(label);
        this.#template[label] = 0;
        this.#classes.push(integer ? Number(label) : label);
      }
    }
    const model = this;
    let maxDepth;
    this.#schema = Object.freeze({
      task: this.#classifier ? 'classification' : 'regression',
      features: Object.freeze(features.map(Object.freeze)),
      classes: Object.freeze([...this.#classes]),
      source: eng.source(),
      trees: eng.n_trees(),
      // Computed on first use: it walks every node of every tree, work a page's
      // start does not need.
      get maxDepth() {
        if (maxDepth === undefined) {
          if (!model.#engine) throw new EdgewoodError('this model was freed', 'freed');
          maxDepth = model.#engine.max_depth();
        }
        return maxDepth;
      },
      bytes: eng.byte_len(),
    });
  }

  /** The embedded Iris model (scikit-learn RandomForestClassifier, 100 trees). */
  static iris() {
    const eng = engine.Engine.iris();
    if (!eng) throw engineError();
    return new Model(PRIVATE, eng);
  }

  /**
   * Loads a `.ewm` model from a Uint8Array, an ArrayBuffer, a fetch() Response or a
   * Blob (a dropped File). The whole model is validated once here, so predictions
   * never meet a corrupt node.
   */
  static async load(source) {
    return Model.fromBytes(await bytesOf(source));
  }

  /** Model.load for bytes already in hand, without a promise. */
  static fromBytes(source) {
    const eng = engine.Engine.load(syncBytesOf(source));
    if (!eng) throw engineError();
    return new Model(PRIVATE, eng);
  }

  /** Features (name, valid and training ranges, missing allowed), classes, task, source. */
  get schema() {
    return this.#schema;
  }

  /** Refreshes the typed-array views when wasm memory has grown (a new buffer). */
  #views() {
    if (!this.#engine) throw new EdgewoodError('this model was freed', 'freed');
    if (this.#buffer !== wasm.memory.buffer) {
      this.#buffer = wasm.memory.buffer;
      this.#row = new Float64Array(this.#buffer, this.#engine.row_ptr(), this.#nf);
      this.#out = new Float64Array(this.#buffer, this.#engine.out_ptr(), this.#len);
    }
  }

  /**
   * Predicts one row, given as `{ feature: value, … }` (every feature exactly once;
   * `null` or `NaN` is a missing value) or as an array of values in schema order.
   * Returns `{ label, confidence, probabilities: { class: p } }`, or `{ value }` for a
   * regressor. Throws an EdgewoodError naming the feature for a refused input.
   */
  predict(input) {
    const eng = this.#engine;
    if (!eng) throw new EdgewoodError('this model was freed', 'freed');
    if (this.#buffer !== wasm.memory.buffer) this.#views();
    this.#fill(input, 'predict');
    const k = eng.predict_one();
    if (k < 0) throw engineError();
    // Model.iris() predicts through the model's bytes until its trees are decoded,
    // so that a page's first prediction does not wait for the decoding; it happens
    // in a task of its own right after.
    if (!this.#decoding) {
      this.#decoding = true;
      setTimeout(() => this.#engine?.decode(), 0);
    }
    // Predicting allocates nothing, so memory cannot have grown; checked all the same.
    if (this.#buffer !== wasm.memory.buffer) this.#views();
    const out = this.#out;
    if (!this.#classifier) return { value: out[0] };
    // A copy of a template that already has the class keys: one allocation of the
    // final shape, then stores to existing properties (no shape changes per call).
    const probabilities = { ...this.#template };
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) probabilities[keys[i]] = out[i];
    return { label: this.#classes[k], confidence: out[k], probabilities };
  }

  /** Writes a row given by name or position into the engine's row buffer. */
  #fill(input, method) {
    const row = this.#row;
    if (Array.isArray(input) || ArrayBuffer.isView(input)) {
      this.#fillPositional(input, row);
    } else if (input !== null && typeof input === 'object') {
      this.#fillNamed(input, row);
    } else {
      throw argumentError(`${method} expects an object of feature values or an array of values`);
    }
  }

  #fillPositional(input, row) {
    if (input.length !== this.#nf) {
      throw new EdgewoodError(`a row needs ${this.#nf} values, got ${input.length}`, 'row_length');
    }
    for (let i = 0; i < this.#nf; i++) {
      const v = numberFor(this.#names[i], input[i]);
      if (v instanceof EdgewoodError) throw v;
      row[i] = v;
    }
  }

  #fillNamed(input, row) {
    // Fast path: exactly the schema's keys, all numbers.
    let count = 0;
    for (const key in input) count++;
    let fast = count === this.#nf;
    for (let i = 0; fast && i < this.#nf; i++) {
      const v = input[this.#names[i]];
      if (typeof v === 'number') row[i] = v;
      else fast = false;
    }
    if (fast) return;
    // Slow path: find the first problem in the caller's key order, with the core's words.
    const names = [];
    const values = [];
    for (const [name, value] of Object.entries(input)) {
      const v = numberFor(name, value);
      if (v instanceof EdgewoodError && this.#names.includes(name)) throw v;
      names.push(name);
      values.push(v instanceof EdgewoodError ? 0 : v);
    }
    if (!this.#engine.check_named(names, new Float64Array(values))) throw engineError();
    for (let j = 0; j < names.length; j++) row[this.#names.indexOf(names[j])] = values[j];
  }

  /**
   * Predicts `nRows` rows stored row-major in a Float64Array or Float32Array (or any
   * array of numbers), `nRows × features` values. Returns `{ labels, classIndex,
   * probabilities }` for a classifier (`probabilities` is `nRows × classes`, row-major)
   * or `{ values }` for a regressor. A refused row throws an EdgewoodError with `row`.
   */
  predictBatch(data, nRows) {
    if (data === null || typeof data !== 'object' || typeof data.length !== 'number') {
      throw argumentError('predictBatch expects a Float64Array, a Float32Array or an array of numbers');
    }
    if (!this.#engine) throw new EdgewoodError('this model was freed', 'freed');
    const nf = this.#nf;
    const n = nRows === undefined ? Math.floor(data.length / nf) : nRows;
    if (!Number.isInteger(n) || n < 0) {
      throw argumentError(`nRows must be a whole number of rows, got ${nRows}`);
    }
    if (data.length !== n * nf) {
      throw new EdgewoodError(
        `${n} rows of ${nf} features need ${n * nf} values, got ${data.length}`,
        'row_length',
      );
    }
    const ptr = this.#engine.reserve(n);
    new Float64Array(wasm.memory.buffer, ptr, n * nf).set(data);
    if (!this.#engine.predict_batch(n)) throw engineError();
    const buffer = wasm.memory.buffer;
    const out = new Float64Array(buffer, this.#engine.batch_out_ptr(), n * this.#len).slice();
    if (!this.#classifier) return { values: out };
    const classIndex = new Uint32Array(buffer, this.#engine.batch_labels_ptr(), n).slice();
    const labels = new Array(n);
    for (let i = 0; i < n; i++) labels[i] = this.#classes[classIndex[i]];
    return { labels, classIndex, probabilities: out };
  }

  /**
   * The model's explainer, built on the first call: loads the explainer wasm (once
   * for all models), hands it a copy of the model's bytes, and waits while it builds
   * its tables. A model without covers is refused with `no_cover`.
   */
  #explainer() {
    this.#explaining ??= (async () => {
      const eng = this.#engine;
      if (!eng) throw new EdgewoodError('this model was freed', 'freed');
      if (!eng.check_explainable()) throw engineError();
      explainer ??= loadExplainer().catch((e) => {
        explainer = null; // a failed fetch may be retried
        throw new EdgewoodError(`could not load the explainer: ${e.message}`, 'fetch_failed');
      });
      const part = await explainer;
      if (!this.#engine) throw new EdgewoodError('this model was freed', 'freed');
      const bytes = new Uint8Array(wasm.memory.buffer, eng.bytes_ptr(), eng.byte_len());
      const x = part.Explaining.open(bytes);
      if (!x) throw new EdgewoodError('the explainer could not open this model', 'corrupt_model');
      return {
        x,
        memory: part.memory,
        outputs: x.outputs(),
        space: SPACES[x.space()],
        buffer: null, // the explainer memory buffer of the views below
        row: null,
        out: null,
      };
    })();
    // A failure is not kept: the next call tries again (and fails the same way for a
    // model without covers, at no cost).
    this.#explaining.catch(() => (this.#explaining = null));
    return this.#explaining;
  }

  /**
   * Explains one row (given as to `predict`) with exact TreeSHAP: each feature's
   * contribution, and the base (the model's expected output), such that base plus
   * contributions is the raw output named by `space`: `'probability'` for a forest
   * classifier, `'value'` for a regressor, `'margin'` (log-odds) for a boosted
   * classifier. A regressor gives `{ base, contributions: { feature: value }, space }`;
   * a classifier one base and one contributions object per class, in `schema.classes`
   * order. The first call loads the explainer (a second wasm) and builds the model's
   * tables; later calls are synchronous work behind an already resolved promise.
   * Rejects with an EdgewoodError: `no_cover` for a model that records no covers
   * (ONNX models, the embedded Iris), or the input's code for a refused row.
   */
  async explain(input) {
    const ex = await this.#explainer();
    if (this.#buffer !== wasm.memory.buffer) this.#views();
    this.#fill(input, 'explain');
    if (!this.#engine.validate_one()) throw engineError();
    const nf = this.#nf;
    if (ex.buffer !== ex.memory.buffer) {
      ex.buffer = ex.memory.buffer;
      ex.row = new Float64Array(ex.buffer, ex.x.row_ptr(), nf);
      ex.out = new Float64Array(ex.buffer, ex.x.out_ptr(), ex.outputs * (nf + 1));
    }
    ex.row.set(this.#row);
    if (!ex.x.explain_one()) throw new EdgewoodError('the explainer failed on this row', 'internal');
    // Explaining allocates its path buffers: memory may have grown.
    if (ex.buffer !== ex.memory.buffer) {
      ex.buffer = ex.memory.buffer;
      ex.row = new Float64Array(ex.buffer, ex.x.row_ptr(), nf);
      ex.out = new Float64Array(ex.buffer, ex.x.out_ptr(), ex.outputs * (nf + 1));
    }
    const out = ex.out;
    const single = ex.outputs === 1;
    const stride = nf + 1;
    const names = this.#names;
    const perClass = (c) => {
      // A binary boosted model explains one margin, the second class's: the first
      // class's is its negation (`0 - x`, so that a zero stays 0 and not -0).
      const at = single ? 0 : c * stride;
      const sign = single && c === 0 && this.#classifier;
      const contributions = { ...this.#featureTemplate };
      for (let f = 0; f < nf; f++) contributions[names[f]] = sign ? 0 - out[at + f] : out[at + f];
      return { base: sign ? 0 - out[at + nf] : out[at + nf], contributions };
    };
    if (!this.#classifier) return { ...perClass(0), space: ex.space };
    const base = [];
    const contributions = [];
    for (let c = 0; c < this.#len; c++) {
      const e = perClass(c);
      base.push(e.base);
      contributions.push(e.contributions);
    }
    return { base, contributions, space: ex.space };
  }

  /**
   * Explains `nRows` rows stored as for `predictBatch`. Returns `{ base, contributions,
   * outputs, space }`: `outputs` is the number of classes (1 for a regressor), `base`
   * one value per output, and `contributions` a Float64Array of `nRows × outputs ×
   * features` values, `contributions[(row × outputs + class) × features + feature]`.
   * Rejects like `explain`, a refused row with its index in `row`.
   */
  async explainBatch(data, nRows) {
    if (data === null || typeof data !== 'object' || typeof data.length !== 'number') {
      throw argumentError('explainBatch expects a Float64Array, a Float32Array or an array of numbers');
    }
    const ex = await this.#explainer();
    const eng = this.#engine;
    const nf = this.#nf;
    const n = nRows === undefined ? Math.floor(data.length / nf) : nRows;
    if (!Number.isInteger(n) || n < 0) {
      throw argumentError(`nRows must be a whole number of rows, got ${nRows}`);
    }
    if (data.length !== n * nf) {
      throw new EdgewoodError(
        `${n} rows of ${nf} features need ${n * nf} values, got ${data.length}`,
        'row_length',
      );
    }
    const ptr = eng.reserve(n);
    new Float64Array(wasm.memory.buffer, ptr, n * nf).set(data);
    if (!eng.validate_batch(n)) throw engineError();
    const xptr = ex.x.reserve(n);
    new Float64Array(ex.memory.buffer, xptr, n * nf).set(new Float64Array(wasm.memory.buffer, ptr, n * nf));
    if (!ex.x.explain_batch()) throw new EdgewoodError('the explainer failed on a row', 'internal');
    const stride = nf + 1;
    const raw = new Float64Array(ex.memory.buffer, ex.x.batch_out_ptr(), n * ex.outputs * stride);
    const k = this.#classifier ? this.#len : 1;
    const single = ex.outputs === 1;
    const base = new Float64Array(k);
    const contributions = new Float64Array(n * k * nf);
    for (let c = 0; c < k; c++) {
      const sign = single && c === 0 && this.#classifier;
      const at = single ? 0 : c * stride;
      base[c] = sign ? 0 - raw[at + nf] : raw[at + nf];
      for (let r = 0; r < n; r++) {
        const from = r * ex.outputs * stride + at;
        const to = (r * k + c) * nf;
        for (let f = 0; f < nf; f++) contributions[to + f] = sign ? 0 - raw[from + f] : raw[from + f];
      }
    }
    return { base, contributions, outputs: k, space: ex.space };
  }

  /** Frees the model's wasm memory now (otherwise done when it is garbage-collected). */
  free() {
    if (this.#engine) {
      this.#engine.free();
      this.#engine = null;
    }
    const explaining = this.#explaining;
    this.#explaining = null;
    explaining?.then((ex) => ex.x.free(), () => {});
  }

}

// `using model = Model.iris()` where the runtime has explicit resource management.
if (typeof Symbol.dispose === 'symbol') {
  Object.defineProperty(Model.prototype, Symbol.dispose, { value: Model.prototype.free });
}

/**
 * The package version, the `.ewm` format version the engine reads, and whether the
 * engine is the SIMD build (picked where the runtime has WebAssembly SIMD).
 */
export function version() {
  return { version: engine.engine_version(), format: engine.format_version(), simd: engine.engine_simd() };
}
