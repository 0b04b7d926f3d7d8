// Node.js entry of `edgewood/convert`: the converter wasm is read from the package
// directory on the first conversion.

import { readFile } from 'node:fs/promises';
import { initSync } from './edgewood_convert.js';
import { makeConvert } from './convert-api.js';

export const convert = makeConvert(async () =>
  initSync({ module: await readFile(new URL('edgewood_convert_bg.wasm', import.meta.url)) }),
);
export { EdgewoodError } from './error.js';
