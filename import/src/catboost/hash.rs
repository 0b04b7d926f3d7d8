//! CatBoost's hash of a category's text: the low 32 bits of CityHash64 (version 1.0, as
//! CatBoost's `CalcCatFeatureHash` computes it). A `.cbm` names a one-hot split's
//! category only by this hash; Edgewood takes categories as integer codes, so the reader
//! finds the code whose decimal text has the hash ([`integer_categories`]).
//!
//! Only texts of at most 16 bytes are hashed here: an integer code below 2^24 has at
//! most 8 digits.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

const K2: u64 = 0x9ae1_6a3b_2f90_404f;
const K3: u64 = 0xc949_d7c7_509e_6557;

/// The most integer codes tried when looking for a hash (codes `0..2^20`).
pub const SEARCHED_CODES: u32 = 1 << 20;

fn hash_128_to_64(low: u64, high: u64) -> u64 {
    const MUL: u64 = 0x9ddf_ea08_eb38_2d69;
    let mut a = (low ^ high).wrapping_mul(MUL);
    a ^= a >> 47;
    let mut b = (high ^ a).wrapping_mul(MUL);
    b ^= b >> 47;
    b.wrapping_mul(MUL)
}

fn fetch64(s: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&s[..8]);
    u64::from_le_bytes(b)
}

fn fetch32(s: &[u8]) -> u64 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&s[..4]);
    u32::from_le_bytes(b) as u64
}

/// CityHash64 v1.0 of a text of at most 16 bytes; `None` for longer texts.
fn city_hash_64_short(s: &[u8]) -> Option<u64> {
    let len = s.len();
    Some(match len {
        9..=16 => {
            let a = fetch64(s);
            let b = fetch64(&s[len - 8..]);
            hash_128_to_64(a, b.wrapping_add(len as u64).rotate_right(len as u32)) ^ b
        }
        4..=8 => hash_128_to_64(
            (len as u64).wrapping_add(fetch32(s) << 3),
            fetch32(&s[len - 4..]),
        ),
        1..=3 => {
            let (a, b, c) = (s[0] as u32, s[len >> 1] as u32, s[len - 1] as u32);
            let y = a.wrapping_add(b << 8) as u64;
            let z = (len as u32).wrapping_add(c << 2) as u64;
            let v = y.wrapping_mul(K2) ^ z.wrapping_mul(K3);
            (v ^ (v >> 47)).wrapping_mul(K2)
        }
        0 => K2,
        _ => return None,
    })
}

/// CatBoost's 32-bit hash of a category's text (at most 16 bytes).
pub fn category_hash(text: &str) -> Option<u32> {
    city_hash_64_short(text.as_bytes()).map(|h| h as u32)
}

/// The integer code below [`SEARCHED_CODES`] whose decimal text has each of `hashes`,
/// where one does, stopping as soon as every hash is found.
pub fn integer_categories(hashes: &BTreeSet<u32>) -> BTreeMap<u32, u32> {
    let mut found = BTreeMap::new();
    if hashes.is_empty() {
        return found;
    }
    let mut text = String::with_capacity(8);
    for code in 0..SEARCHED_CODES {
        text.clear();
        let _ = write!(text, "{code}");
        if let Some(h) = category_hash(&text).filter(|h| hashes.contains(h)) {
            found.entry(h).or_insert(code);
            if found.len() == hashes.len() {
                break;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes CatBoost 1.2.10 wrote beside these texts in a JSON export
    /// (`cat_features_hash`), one per length branch.
    #[test]
    fn hashes_match_catboost() {
        for (text, hash) in [
            ("1", 1121341681),
            ("3", 593172586),
            ("12", 1445320840),
            ("-1", 288298918),
            ("1234", 2446288829),
            ("16777215", 3857317969),
            ("123456789", 1389760245),
        ] {
            assert_eq!(category_hash(text), Some(hash), "{text}");
        }
        assert_eq!(category_hash("12345678901234567"), None);
        let found = integer_categories(&BTreeSet::from([593172586, 1445320840, 7]));
        assert_eq!(found, BTreeMap::from([(593172586, 3), (1445320840, 12)]));
    }
}
