// Type declarations of `edgewood`, written by hand (the generated ones describe the
// low-level engine, not this API).

/** Stable codes of {@link EdgewoodError}. */
export type ErrorCode =
  | 'unknown_feature'
  | 'missing_feature'
  | 'duplicate_feature'
  | 'not_finite'
  | 'out_of_range'
  | 'row_length'
  | 'invalid_type'
  | 'invalid_argument'
  | 'not_ewm'
  | 'unsupported_version'
  | 'truncated'
  | 'corrupt_model'
  | 'no_cover'
  | 'prediction_not_finite'
  | 'fetch_failed'
  | 'freed'
  | 'internal';

/** An error from Edgewood: `message` in words, `code` and `feature` for programs. */
export class EdgewoodError extends Error {
  readonly name: 'EdgewoodError';
  /** What went wrong, stable across versions. */
  readonly code: ErrorCode;
  /** The input feature concerned, when the error is about one. */
  readonly feature?: string;
  /** The batch row concerned (0-based), when the error is about one. */
  readonly row?: number;
}

/** A closed range `[min, max]`. */
export interface Range {
  readonly min: number;
  readonly max: number;
}

/** One input feature of a model. */
export interface FeatureSchema {
  readonly name: string;
  /** Values outside it are refused (`out_of_range`); `null` when unbounded. */
  readonly validRange: Range | null;
  /** The smallest and largest value seen in training, when the source recorded it. */
  readonly trainRange: Range | null;
  /** Whether `null` / `NaN` (a missing value) is accepted. */
  readonly allowMissing: boolean;
}

/** What a model takes and gives. */
export interface Schema {
  readonly task: 'classification' | 'regression';
  readonly features: readonly FeatureSchema[];
  /** Class labels in probability order (numbers for integer-labelled models); empty for regression. */
  readonly classes: readonly (string | number)[];
  /** Where the model came from, e.g. `scikit-learn 1.9.1 RandomForestClassifier`. */
  readonly source: string;
  readonly trees: number;
  readonly maxDepth: number;
  /** Size of the `.ewm` model in bytes. */
  readonly bytes: number;
}

/** One row by feature name; `null` (or `NaN`) is a missing value. */
export type Row = Readonly<Record<string, number | null>>;

export interface ClassPrediction {
  /** The first class of highest probability. */
  readonly label: string | number;
  /** The probability of `label`. */
  readonly confidence: number;
  /** One probability per class, keyed by label. */
  readonly probabilities: Readonly<Record<string, number>>;
}

export interface ValuePrediction {
  readonly value: number;
}

export interface ClassBatch {
  /** One label per row. */
  readonly labels: (string | number)[];
  /** The index in `schema.classes` of each row's label. */
  readonly classIndex: Uint32Array;
  /** `nRows × classes` probabilities, row-major. */
  readonly probabilities: Float64Array;
}

export interface ValueBatch {
  readonly values: Float64Array;
}

/**
 * What an explanation's base plus contributions add up to: a forest classifier's
 * probability, a regressor's value, or a boosted model's margin (log-odds for a
 * classifier, before the link).
 */
export type ExplanationSpace = 'probability' | 'value' | 'margin';

/** A regressor's explanation of one row. */
export interface ValueExplanation {
  /** The expected output over the training data (the same for every row). */
  readonly base: number;
  /** Each feature's contribution, keyed by name; base + their sum = the raw output. */
  readonly contributions: Readonly<Record<string, number>>;
  readonly space: ExplanationSpace;
}

/** A classifier's explanation of one row: per class, in `schema.classes` order. */
export interface ClassExplanation {
  readonly base: readonly number[];
  readonly contributions: readonly Readonly<Record<string, number>>[];
  readonly space: ExplanationSpace;
}

/** The explanations of a batch of rows. */
export interface BatchExplanation {
  /** Classes (1 for a regressor). */
  readonly outputs: number;
  /** One base per output. */
  readonly base: Float64Array;
  /** `nRows × outputs × features` values: `[(row × outputs + class) × features + feature]`. */
  readonly contributions: Float64Array;
  readonly space: ExplanationSpace;
}

/** Bytes of a `.ewm` model, or something that yields them. */
export type ModelSource = Uint8Array | ArrayBuffer | ArrayBufferView | Response | Blob;

/** A tree-ensemble model, ready to predict. */
export class Model {
  private constructor();
  /** The embedded Iris model (scikit-learn RandomForestClassifier, 100 trees). */
  static iris(): Model;
  /** Loads and validates a `.ewm` model. Rejects with an {@link EdgewoodError}. */
  static load(source: ModelSource): Promise<Model>;
  /** {@link Model.load} for bytes in hand, synchronously. */
  static fromBytes(bytes: Uint8Array | ArrayBuffer | ArrayBufferView): Model;
  readonly schema: Schema;
  /** Predicts one row given by feature name, or as values in schema order. */
  predict(row: Row | ArrayLike<number>): ClassPrediction | ValuePrediction;
  /** Predicts `nRows` rows stored row-major (`nRows × features` values). */
  predictBatch(data: Float64Array | Float32Array | ArrayLike<number>, nRows?: number): ClassBatch | ValueBatch;
  /**
   * Explains one row with exact TreeSHAP. The first call loads the explainer (a second
   * wasm of under 15 KB gzipped) and builds the model's tables. Rejects with `no_cover`
   * for a model without covers (ONNX, the embedded Iris).
   */
  explain(row: Row | ArrayLike<number>): Promise<ClassExplanation | ValueExplanation>;
  /** Explains `nRows` rows stored row-major (`nRows × features` values). */
  explainBatch(data: Float64Array | Float32Array | ArrayLike<number>, nRows?: number): Promise<BatchExplanation>;
  /** Frees the model's wasm memory now rather than at garbage collection. */
  free(): void;
}

/**
 * The package version, the `.ewm` format version the engine reads, and whether the
 * engine is the SIMD build (picked where the runtime has WebAssembly SIMD).
 */
export function version(): { version: string; format: number; simd: boolean };
