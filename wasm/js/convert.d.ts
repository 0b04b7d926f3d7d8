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
  /**
   * The most MiB a compressed model (joblib zlib, gzip, bz2, xz, lzma, lz4) may
   * decompress to; past it the model is refused (`limit_exceeded`) as a decompression
   * bomb, checked against the size the container declares and while decoding.
   * Default 256, as `edgewood --max-model-mib`.
   */
  maxModelMib?: number;
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
