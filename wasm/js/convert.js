// Browser and bundler entry of `edgewood/convert`: the converter wasm is fetched from
// next to this file on the first conversion.

import init from './edgewood_convert.js';
import { makeConvert } from './convert-api.js';

export const convert = makeConvert(() =>
  init({ module_or_path: new URL('edgewood_convert_bg.wasm', import.meta.url) }),
);
export { EdgewoodError } from './error.js';
