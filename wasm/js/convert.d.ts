// Type declarations of `edgewood/convert`, written by hand.

import type { EdgewoodError, Range } from './index.js';
export { EdgewoodError } from './index.js';

/** Choices about a conversion. */
export interface ConvertOptions {
  /** New feature names, one per feature in column order. */
  featureNames?: string[];
  /** New class labels, one per class in the model's order. */
  classNames?: string[];
  /** Valid ranges recorded in the model, by feature name; `'*'` sets every feature. */
  validRanges?: Record<string, Range>;
  /** Whether missing values (NaN) are accepted, for every feature. */
  allowMissing?: boolean;
}

/**
 * Converts a source model (a scikit-learn joblib or pickle file, read without running
 * it) into `.ewm` bytes for `Model.load`. Rejects with an {@link EdgewoodError} whose
 * `code` is one of `unknown_format`, `decompress_failed`, `limit_exceeded`,
 * `refused_global`, `bad_pickle`, `unsupported_estimator`, `import_failed`,
 * `encode_failed`, `corrupt_model`, `invalid_argument`, `fetch_failed`.
 */
export function convert(
  source: Uint8Array | ArrayBuffer | ArrayBufferView | Response | Blob,
  options?: ConvertOptions,
): Promise<Uint8Array>;
