//! The helpers that the x86-64 complete-tree kernels share word for word, but for
//! their registers and instructions ([`complete_walk!`]): written once, expanded in
//! each kernel.
//!
//! A macro rather than generic functions: a function that takes a vector register by
//! value must itself be compiled for the instructions the register needs, and a
//! generic function cannot enable AVX2 for one kernel and AVX-512 for another. Each
//! kernel expands it with its own types, so the code compiled is what each kernel
//! wrote out before: the release bench binaries had the same machine code, byte for
//! byte, before and after the kernels shared it.
//!
//! What differs from kernel to kernel stays in the kernel: the step down (`step`),
//! the levels whose splits are picked from registers (`picked_level`), the order of
//! a tree's levels (`leaf_positions`), the leaves' addition, and AVX2's `pick`,
//! `has_bit` and `blend` (no permute of two registers, no mask registers).

/// Defines, in the kernel module that expands it:
///
/// - `LANES`: rows (or values) to a register;
/// - `load::<R>`: `R` registers of values from a pointer, by `load`;
/// - `rows`: the row numbers of a register's lanes within a block, for its `ch`-th
///   register (`lanes` those of the first, `addi` and `set1i` the integer addition and
///   broadcast of places);
/// - with `masks`: `has_bit` and `blend` (below) by a mask register, `test` making it,
///   `blend` taking it;
/// - with `pick`: `pick::<R>`, each lane's value from `R` registers by its place, by
///   the permutes of one register (`permute`) and of two (`permute2`), then blends
///   (`bit` the type of a place's bit for `has_bit`);
/// - `loaded_level::<W>`: a level of `W` (at most 8) splits, each split's inputs
///   loaded for a register of rows and blended by the bits of each row's place;
/// - `tree_positions`: the kernel's `leaf_positions` of one of a [`Complete`]'s
///   trees, given `walk_args` after the block (`c` names the [`Complete`]);
/// - `places`: the kernel's `leaf_positions` of a complete top, stored as `u32`s by
///   `store` (`p`, a register's run of places; `j`, its register), with the extra
///   parameters `places_args` names and `walk_args` from them;
/// - with `gather`: `gathered_level`, a level whose splits and inputs are gathered
///   (`gather`: the gathers of float32 values and of 32-bit integers from a base
///   pointer by a register of indexes);
/// - with `add`: `add_picked::<R>`, each row's leaf picked from `R` registers of
///   values and added onto its sum (`add` and `storeu` the vector addition and store).
///
/// `zero` gives a register of zero values. The module provides `CHUNKS` (registers
/// of rows in a block), `step` (`j = 2j + right`) and `leaf_positions`; and, where
/// the macro does not define them, `pick::<R>`, `has_bit` (the lanes whose place has
/// a bit set) and `blend` (a register's lanes, from a second where set).
///
/// [`Complete`]: super::super::Complete
macro_rules! complete_walk {
    (
        feature: $feature:literal,
        threshold: $t:ty,
        values: $v:ty,
        places: $j:ty,
        bit: $bit:ty,
        zero: $vzero:expr,
        load: $loadu:path,
        rows: ($lanes:expr, $addi:path, $set1i:path $(,)?),
        walk_args: |$c:ident| ($($extra:expr),* $(,)?),
        places_args: ($($arg:ident: $argty:ty => $pextra:expr),* $(,)?),
        store: |$p:ident, $pj:ident| $store:expr
        $(, masks: ($test:path, $mask:ty, $blend:path))?
        $(, pick: ($permute:path, $permute2:path))?
        $(, gather: |$gb:ident, $gi:ident| ($gps:expr, $gepi:expr $(,)?))?
        $(, add: ($add:path, $storeu:path))? $(,)?
    ) => {
        /// Rows to a register.
        const LANES: usize = BLOCK_ROWS / CHUNKS;

        /// `R` registers of values from `at`.
        ///
        /// # Safety
        /// The kernel's instructions; `at` points to `R` registers' worth of readable
        /// values.
        #[target_feature(enable = $feature)]
        #[inline]
        unsafe fn load<const R: usize>(at: *const $t) -> [$v; R] {
            // A loop, not `array::from_fn`: its closure would not inherit the target
            // feature and stays a call per register.
            let mut regs = [$vzero; R];
            for (i, r) in regs.iter_mut().enumerate() {
                // SAFETY: the caller's.
                *r = unsafe { $loadu(at.add(LANES * i)) };
            }
            regs
        }

        /// The row numbers of a register's lanes within a block, for the `ch`-th
        /// register.
        #[target_feature(enable = $feature)]
        #[inline]
        fn rows(ch: usize) -> $j {
            let lanes = $lanes;
            $addi(lanes, $set1i(LANES as $bit * ch as $bit))
        }

        $(
            /// Which lanes of `j` have `bit` set.
            #[target_feature(enable = $feature)]
            #[inline]
            fn has_bit(j: $j, bit: $bit) -> $mask {
                $test(j, $set1i(bit))
            }

            /// `a`'s lanes, and `b`'s where `high` is set.
            #[target_feature(enable = $feature)]
            #[inline]
            fn blend(high: $mask, a: $v, b: $v) -> $v {
                $blend(high, a, b)
            }
        )?

        $(
            /// Lane `i` of `from[j_i / LANES]` at lane `j_i % LANES` (`R` a power of
            /// two up to 16): a permute across each pair of registers, then blends by
            /// the higher bits of `j`.
            #[target_feature(enable = $feature)]
            #[inline]
            fn pick<const R: usize>(from: &[$v; R], j: $j) -> $v {
                if R == 1 {
                    return $permute(j, from[0]);
                }
                let mut picked = [$vzero; 8];
                for p in 0..R / 2 {
                    picked[p] = $permute2(from[2 * p], j, from[2 * p + 1]);
                }
                // The bit above a pair's lanes picks between pairs, the next between
                // pairs of pairs, and so on.
                let (mut n, mut bit) = (R / 2, 2 * LANES as $bit);
                while n > 1 {
                    let high = has_bit(j, bit);
                    for p in 0..n / 2 {
                        picked[p] = blend(high, picked[2 * p], picked[2 * p + 1]);
                    }
                    n /= 2;
                    bit <<= 1;
                }
                picked[0]
            }
        )?

        /// A level of `W` (at most 8) splits: each split's inputs loaded for a
        /// register of rows and blended by the bits of each row's `j` (cheaper than a
        /// gather for few splits).
        ///
        /// # Safety
        /// The kernel's instructions; a whole register of splits readable at
        /// `thresholds` and `columns`; every column plus BLOCK_ROWS within `block`.
        #[target_feature(enable = $feature)]
        #[inline]
        unsafe fn loaded_level<const W: usize>(
            j: &mut [$j; CHUNKS],
            thresholds: *const $t,
            columns: *const u32,
            block: &[$t],
        ) {
            // SAFETY: the caller's.
            let t_reg: [$v; 1] = unsafe { load(thresholds) };
            let mut at = [0usize; W];
            for (s, at) in at.iter_mut().enumerate() {
                // SAFETY: the caller's.
                *at = unsafe { *columns.add(s) } as usize;
            }
            for (ch, j) in j.iter_mut().enumerate() {
                let mut x = [$vzero; W];
                for (x, &at) in x.iter_mut().zip(&at) {
                    // SAFETY: the caller's: each column's 128 rows lie in `block`.
                    *x = unsafe { $loadu(block.as_ptr().add(at + LANES * ch)) };
                }
                let (mut n, mut bit) = (W, 1);
                while n > 1 {
                    let high = has_bit(*j, bit);
                    for p in 0..n / 2 {
                        x[p] = blend(high, x[2 * p], x[2 * p + 1]);
                    }
                    n /= 2;
                    bit <<= 1;
                }
                *j = step(*j, x[0], pick(&t_reg, *j));
            }
        }

        /// [`leaf_positions`] of `tree` of `c`.
        ///
        /// # Safety
        /// As [`leaf_positions`]'s, for `c`'s thresholds and `columns` (`c.columns`
        /// or `c.folded_columns`); `tree` is one of `c.trees`.
        #[target_feature(enable = $feature)]
        #[inline]
        unsafe fn tree_positions(
            $c: &Complete<$t>,
            columns: &[u32],
            tree: &CompleteTree,
            block: &[$t],
        ) -> [$j; CHUNKS] {
            let first = tree.first_node as usize;
            // SAFETY: the caller's; `first` is the tree's root in both arrays.
            unsafe {
                leaf_positions(
                    $c.thresholds.as_ptr().add(first),
                    columns.as_ptr().add(first),
                    tree.depth,
                    block,
                    $($extra,)*
                )
            }
        }

        /// The places at the last level of a complete top (`thresholds` and
        /// `columns`: its splits, breadth first, `depth` levels) that the rows of
        /// `block` reach.
        ///
        /// # Safety
        /// As [`leaf_positions`]'s.
        #[target_feature(enable = $feature)]
        pub(super) unsafe fn places(
            thresholds: *const $t,
            columns: *const u32,
            depth: u32,
            block: &[$t],
            places: &mut [u32; BLOCK_ROWS],
            $($arg: $argty,)*
        ) {
            // SAFETY: the caller's.
            let j = unsafe { leaf_positions(thresholds, columns, depth, block, $($pextra,)*) };
            for ($p, $pj) in places.chunks_exact_mut(LANES).zip(j) {
                // SAFETY: a register's lanes in `p`; a place fits 32 bits.
                unsafe { $store };
            }
        }

        $(
            /// A level of more splits than [`pick`] takes: splits and inputs gathered.
            ///
            /// # Safety
            /// The kernel's instructions; the level's splits (`j` indexes them) at
            /// `thresholds` and `columns`; every column plus BLOCK_ROWS within `block`.
            #[target_feature(enable = $feature)]
            #[inline]
            unsafe fn gathered_level(
                j: &mut [$j; CHUNKS],
                thresholds: *const $t,
                columns: *const u32,
                block: &[$t],
            ) {
                for (ch, j) in j.iter_mut().enumerate() {
                    // SAFETY: the caller's.
                    unsafe {
                        let t = {
                            let ($gb, $gi) = (thresholds, *j);
                            $gps
                        };
                        let column = {
                            let ($gb, $gi) = (columns.cast(), *j);
                            $gepi
                        };
                        let x = {
                            let ($gb, $gi) = (block.as_ptr(), $addi(column, rows(ch)));
                            $gps
                        };
                        *j = step(*j, x, t);
                    }
                }
            }
        )?

        $(
            /// Adds each row's leaf (`leaf`, by place) from `values` onto its sum in
            /// `run`, the leaves picked from `R` registers.
            ///
            /// # Safety
            /// The kernel's instructions; `R` registers' worth of readable values at
            /// `values`.
            #[target_feature(enable = $feature)]
            #[inline]
            unsafe fn add_picked<const R: usize>(
                values: *const $t,
                leaf: &[$j; CHUNKS],
                run: &mut [$t],
            ) {
                // SAFETY: the caller's.
                let regs: [$v; R] = unsafe { load(values) };
                for (&leaf, run) in leaf.iter().zip(run.chunks_exact_mut(LANES)) {
                    // SAFETY: a register's sums in `run`.
                    unsafe {
                        let sum = $add($loadu(run.as_ptr()), pick(&regs, leaf));
                        $storeu(run.as_mut_ptr(), sum);
                    }
                }
            }
        )?
    };
}

pub(super) use complete_walk;
