//! Fuzzing oracles and a tiny mutator, shared by the `fuzz/` targets and by
//! `cargo test` (which replays the seed corpus and random mutations on stable Rust).
//!
//! An oracle never returns an error: it panics when an invariant breaks, which is what
//! a fuzzer reports. The invariants: importing arbitrary bytes returns an error or an
//! ensemble; an imported ensemble always encodes, reopens, validates and predicts; opening
//! arbitrary `.ewm` bytes returns an error or a model that, once validated, predicts.

use edgewood_core::Model;

use crate::{import_bytes, pickle, ImportOptions};

/// The seed corpus of fuzz target `target` (`fuzz/seeds/<target>/` in the source tree),
/// sorted by file name, for the stable replays in `cargo test`. Panics, as a test
/// helper does, when the folder cannot be read or holds fewer than two seeds.
pub fn seed_corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 2, "{target}: too few seeds");
    out
}

/// Options that keep a fuzz iteration small: a 16 MiB decompression cap and a
/// 64 MiB pickle allocation budget.
pub fn fuzz_options() -> ImportOptions {
    ImportOptions {
        max_decompressed: 16 << 20,
        pickle_limits: pickle::Limits {
            max_alloc: 64 << 20,
            ..pickle::Limits::default()
        },
        ..ImportOptions::default()
    }
}

/// Bytes → [`import_bytes`]; an imported model must encode, validate and predict.
pub fn import_pickle(bytes: &[u8]) {
    let Ok(ensemble) = import_bytes(bytes, &fuzz_options()) else {
        return;
    };
    let ewm = match ensemble.encode() {
        Ok(ewm) => ewm,
        Err(e) => panic!("an imported model does not encode: {e}"),
    };
    let model = match Model::open(&ewm) {
        Ok(m) => m,
        Err(e) => panic!("an encoded model does not open: {e}"),
    };
    if let Err(e) = model.validate() {
        panic!("an encoded model does not validate: {e}");
    }
    let zeros = vec![0.0; model.n_features()];
    if let Err(e) = model.predict(&zeros) {
        panic!("a validated model cannot predict a zero row: {e}");
    }
}

/// Bytes → [`Model::open`] → [`Model::validate`] → predict a zero row when valid.
pub fn decode_ewm(bytes: &[u8]) {
    let Ok(model) = Model::open(bytes) else {
        return;
    };
    let zeros = vec![0.0; model.n_features()];
    let validated = model.validate().is_ok();
    let predicted = model.predict(&zeros);
    if validated {
        if let Err(e) = predicted {
            panic!("a validated model cannot predict a zero row: {e}");
        }
    }
}

/// A xorshift generator, so mutations are reproducible from a seed without a
/// dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced, xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Applies one to four random edits (flip, set, insert, delete, truncate) to `bytes`.
pub fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..1 + rng.below(4) {
        if out.is_empty() {
            out.push(rng.next_u64() as u8);
            continue;
        }
        let at = rng.below(out.len());
        match rng.below(6) {
            0 => out[at] ^= 1 << rng.below(8),
            1 => out[at] = rng.next_u64() as u8,
            2 => out[at] = [0x00, 0xff, 0x7f, 0x80][rng.below(4)],
            3 => out.insert(at, rng.next_u64() as u8),
            4 => {
                out.remove(at);
            }
            _ => out.truncate(at),
        }
    }
    out
}
