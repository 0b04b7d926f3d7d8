// Whether this WebAssembly runtime has SIMD (every current browser, Node, Deno,
// wasmtime): it validates a function that splats an i32 into a v128 and counts its
// bits (i8x16.popcnt, of the final SIMD proposal). The package's entries then load the
// engine's SIMD build, edgewood_simd_bg.wasm, and otherwise edgewood_bg.wasm; both
// give the same bits. The tests force the second path by making WebAssembly.validate
// answer false.

export const simd = WebAssembly.validate(
  new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, // magic, version 1
    1, 5, 1, 96, 0, 1, 123, // type section: () -> v128
    3, 2, 1, 0, // function section: one function of type 0
    10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11, // code: i32.const 0, i8x16.splat, i8x16.popcnt, end
  ]),
);
