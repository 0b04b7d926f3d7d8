// The converter API of `edgewood/convert`, shared by its browser and Node entries.
// The converter wasm is instantiated on the first call, not at import, so importing
// this entry costs nothing until a model is actually converted.

import * as converter from './edgewood_convert.js';
import { EdgewoodError } from './error.js';

async function bytesOf(source) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) {
    return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  }
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok) {
      throw new EdgewoodError(`could not fetch the model: HTTP ${source.status}`, 'fetch_failed');
    }
    return new Uint8Array(await source.arrayBuffer());
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return new Uint8Array(await source.arrayBuffer());
  }
  throw new EdgewoodError(
    'convert expects the model bytes as a Uint8Array, an ArrayBuffer, a Response or a Blob',
    'invalid_argument',
  );
}

function strings(value, what) {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string')) {
    throw new EdgewoodError(`${what} must be an array of strings`, 'invalid_argument');
  }
  return value;
}

/** Makes `convert` around `instantiate`, the entry's way to start the converter wasm. */
export function makeConvert(instantiate) {
  let started = null;
  return async function convert(source, options = {}) {
    const bytes = await bytesOf(source);
    started ??= instantiate();
    await started;
    const names = [];
    const mins = [];
    const maxs = [];
    for (const [feature, r] of Object.entries(options.validRanges ?? {})) {
      if (!r || typeof r.min !== 'number' || typeof r.max !== 'number') {
        throw new EdgewoodError(`validRanges['${feature}'] must be { min, max }`, 'invalid_argument');
      }
      names.push(feature === '*' ? '' : feature);
      mins.push(r.min);
      maxs.push(r.max);
    }
    const allow = options.allowMissing === undefined ? -1 : options.allowMissing ? 1 : 0;
    const cap = options.maxModelMib ?? 0;
    if (!Number.isInteger(cap) || cap < 0 || cap > 4095) {
      throw new EdgewoodError('maxModelMib must be a whole number of MiB from 1 to 4095', 'invalid_argument');
    }
    const ewm = converter.convert(
      bytes,
      strings(options.featureNames, 'featureNames'),
      strings(options.classNames, 'classNames'),
      names,
      new Float64Array(mins),
      new Float64Array(maxs),
      allow,
      cap,
    );
    if (ewm === undefined) {
      throw new EdgewoodError(converter.last_error_message(), converter.last_error_code());
    }
    return ewm;
  };
}
