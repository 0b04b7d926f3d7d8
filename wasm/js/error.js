// EdgewoodError, in a module of its own so that every entry shares it: `edgewood/convert`
// imports only this file, not the engine's glue.
//
// The browser entry index.js is published as one self-contained module (the build
// bundles the glue, the API and this class into it, so a page fetches one file instead
// of four), which gives that entry its own copy of the class. `instanceof` therefore
// checks a brand registered with Symbol.for rather than the prototype chain, so an
// error thrown by either copy is an EdgewoodError to both.

const BRAND = Symbol.for('edgewood.EdgewoodError');

/**
 * An error from Edgewood. `code` is stable and meant for programs; `feature` names the
 * input feature concerned and `row` the batch row, when the error is about one.
 */
export class EdgewoodError extends Error {
  constructor(message, code, feature, row) {
    super(message);
    this.name = 'EdgewoodError';
    this.code = code;
    if (feature !== undefined) this.feature = feature;
    if (row !== undefined) this.row = row;
  }

  static [Symbol.hasInstance](value) {
    return value instanceof Error && value[BRAND] === true;
  }
}

Object.defineProperty(EdgewoodError.prototype, BRAND, { value: true });
