// Where the tests find what they test: the built package (`cargo xtask wasm` writes
// it to wasm/pkg) and the committed fixtures.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const pkgDir = fileURLToPath(new URL('../../wasm/pkg/', import.meta.url));
export const fixtures = fileURLToPath(new URL('../../tests/fixtures/', import.meta.url));
export const webDir = fileURLToPath(new URL('../', import.meta.url));

if (!existsSync(pkgDir + 'edgewood_bg.wasm')) {
  throw new Error('the package is not built: run `cargo xtask wasm` first');
}
