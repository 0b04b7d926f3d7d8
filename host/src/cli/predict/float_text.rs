//! Floats as output text, with a small cache of recent values.
//!
//! Formatting was the largest cost of `edgewood predict` after prediction itself
//! (a tenth of the run on the Iris forest). Model outputs repeat a lot: a forest's
//! probabilities are averages over its trees (multiples of 1/100 for 100 pure-leaf
//! trees), 0 and 1 are everywhere, and a regression tree has one value per leaf. A
//! direct-mapped table keyed by the float's bits turns a repeat into one compare and a
//! copy; a miss costs the hash beside the formatting. The text is always
//! [`fmt_f64`]'s, so the output does not depend on the cache.

use crate::cli::io::fmt_f64;

/// Slots in the table: ten times the distinct outputs of a forest's classes (the
/// Iris forest gives 101 on the 1M-row bench: in 256 slots, about 17 of them shared a
/// slot with another and were formatted again and again), small enough (40 KB) to
/// stay in the L2 cache beside the trees.
const SLOTS: usize = 1024;

/// The longest text `ryu` writes for an f64 (`-1.2345678901234567e-308`).
const MAX_LEN: usize = 24;

/// One float's bits and its text.
#[derive(Clone, Copy)]
struct Slot {
    bits: u64,
    len: u8,
    text: [u8; MAX_LEN],
}

/// Writes floats in shortest round-trip form, remembering the last [`SLOTS`] texts.
pub struct FloatText {
    slots: Box<[Slot]>,
    ryu: ryu::Buffer,
}

impl FloatText {
    /// An empty cache. Every slot starts as 0.0 (bits 0), whose text is `0.0`, so a
    /// slot never holds a text that is not its float's.
    pub fn new() -> FloatText {
        let mut zero = Slot {
            bits: 0,
            len: 3,
            text: [0; MAX_LEN],
        };
        zero.text[..3].copy_from_slice(b"0.0");
        FloatText {
            slots: vec![zero; SLOTS].into_boxed_slice(),
            ryu: ryu::Buffer::new(),
        }
    }

    /// Appends the text of `x` to `out`.
    pub fn push(&mut self, out: &mut Vec<u8>, x: f64) {
        let bits = x.to_bits();
        // Fibonacci hashing: the top bits of the product mix every bit of the input,
        // so values differing only in low mantissa bits land in different slots.
        let at =
            (bits.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - SLOTS.trailing_zeros())) as usize;
        let slot = &mut self.slots[at];
        if slot.bits != bits {
            let text = fmt_f64(&mut self.ryu, x).as_bytes();
            slot.bits = bits;
            slot.len = text.len() as u8;
            slot.text[..text.len()].copy_from_slice(text);
        }
        // All of the slot, then back to the text's end: a copy of a fixed size is a
        // few moves, where one of the text's length is a call to memcpy.
        let end = out.len() + slot.len as usize;
        out.extend_from_slice(&slot.text);
        out.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_as_fmt_f64_hit_or_miss() {
        let mut cache = FloatText::new();
        let mut ryu = ryu::Buffer::new();
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            0.97,
            1e-7,
            f64::NAN,
            f64::INFINITY,
            f64::MAX,
        ];
        values.extend((0..=100).map(|k| k as f64 / 100.0));
        values.extend((0..2000).map(|k| (k as f64).sqrt() * -3.7e-300));
        // Twice: the second pass hits where the first filled.
        for _ in 0..2 {
            for &x in &values {
                let mut out = Vec::new();
                cache.push(&mut out, x);
                assert_eq!(out, fmt_f64(&mut ryu, x).as_bytes(), "{x:e}");
            }
        }
        assert!(fmt_f64(&mut ryu, -1.2345678901234567e-308).len() <= MAX_LEN);
    }
}
