// Browser and bundler entry of `edgewood`: fetches and instantiates the engine wasm
// (located next to this file, so bundlers such as Vite and webpack emit it as an
// asset), then exposes the API. Top-level await makes Model.iris() synchronous.

import init from './edgewood.js';
import { attach } from './api.js';

attach(await init({ module_or_path: new URL('edgewood_bg.wasm', import.meta.url) }));

export { Model, EdgewoodError, version } from './api.js';
