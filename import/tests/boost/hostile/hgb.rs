//! The `skl_hgb_categorical` HistGradientBoosting file with one array rewritten in
//! place: bitset indices, categorical splits on numerical features and the like.

use super::flips;

/// The `skl_hgb_categorical` joblib file with one numpy array's bytes rewritten in
/// place. joblib writes each array's raw bytes right into the stream, so the array is
/// found by its bytes.
mod file {
    use edgewood_import::pickle::{numpy, run, Limits, Pickle, Value};
    use edgewood_import::{import_bytes, ImportOptions};

    pub fn bytes() -> Vec<u8> {
        std::fs::read(crate::common::fixtures().join("skl_hgb_categorical.joblib")).unwrap()
    }

    pub fn pickle(b: &[u8]) -> Pickle<'_> {
        run(b, true, Limits::default()).unwrap()
    }

    /// The raw bytes of the array at `path` (attribute names and list indices).
    pub fn array_bytes(p: &Pickle, path: &[&str]) -> Vec<u8> {
        let mut id = p.root;
        for key in path {
            id = match key.parse::<usize>() {
                Ok(i) => p.as_seq(id).unwrap()[i],
                Err(_) => p.attr(id, key).unwrap_or_else(|| panic!("no {key}")),
            };
        }
        assert!(
            matches!(p.get(id), Value::Array(_)),
            "{path:?} is not a raw array"
        );
        numpy::array(p, id).unwrap().bytes().to_vec()
    }

    /// Where the `nth` occurrence of `needle` starts in `hay`.
    pub fn find(hay: &[u8], needle: &[u8], nth: usize) -> usize {
        hay.windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle)
            .nth(nth)
            .expect("bytes not found in the file")
            .0
    }

    pub fn err(b: &[u8]) -> String {
        match import_bytes(b, &ImportOptions::default()) {
            Ok(_) => panic!("a corrupt model imported"),
            Err(e) => e.to_string(),
        }
    }

    /// The first categorical node of the first tree: (byte offset of its record in the
    /// file, record size, offsets of fields `feature_idx`, `bitset_idx`).
    pub fn first_categorical_node(b: &[u8]) -> (usize, usize, usize, usize) {
        let p = pickle(b);
        let nodes_id = {
            let preds = p.attr(p.root, "_predictors").unwrap();
            let first = p.as_seq(p.as_seq(preds).unwrap()[0]).unwrap()[0];
            p.attr(first, "nodes").unwrap()
        };
        let a = numpy::array(&p, nodes_id).unwrap();
        let field = |n: &str| a.dtype.field(n).unwrap().offset;
        let size = a.dtype.itemsize;
        let raw = a.bytes();
        let cat = a.dtype.field("is_categorical").unwrap();
        let leaf = a.dtype.field("is_leaf").unwrap();
        let i = (0..a.len())
            .find(|&i| raw[i * size + cat.offset] != 0 && raw[i * size + leaf.offset] == 0)
            .expect("the first tree has a categorical split");
        let start = find(b, raw, 0);
        (
            start + i * size,
            size,
            field("feature_idx"),
            field("bitset_idx"),
        )
    }
}

#[test]
fn hgb_categorical_bitset_index_out_of_range() {
    let mut b = file::bytes();
    let (at, _, _, bitset) = file::first_categorical_node(&b);
    b[at + bitset..at + bitset + 4].copy_from_slice(&1000u32.to_le_bytes());
    let e = file::err(&b);
    assert!(e.contains("bitset_idx 1000 of"), "{e}");
}

#[test]
fn hgb_categorical_split_on_a_numerical_feature() {
    let mut b = file::bytes();
    let (at, _, feature, _) = file::first_categorical_node(&b);
    // Re-ordered column 4 is a numerical one (the two categorical columns come first).
    b[at + feature..at + feature + 8].copy_from_slice(&4i64.to_le_bytes());
    let e = file::err(&b);
    assert!(
        e.contains("categorical split on numerical feature 4"),
        "{e}"
    );
}

#[test]
fn hgb_categorical_known_code_beyond_the_encoder_categories() {
    let mut b = file::bytes();
    let p = file::pickle(&b);
    let known = file::array_bytes(&p, &["_bin_mapper", "known_categories", "0"]);
    // The same bytes also start the encoder's categories_[0] and are the bin mapper's
    // bin_thresholds_[0]: take the first copy after the attribute's name.
    let key = file::find(&b, b"known_categories", 0);
    let at = key + file::find(&b[key..], &known, 0);
    b[at + 8..at + 16].copy_from_slice(&300.0f64.to_le_bytes());
    let e = file::err(&b);
    assert!(
        e.contains("known_categories[0]") && e.contains("code 300 is not one of the 12"),
        "{e}"
    );
}

#[test]
fn hgb_categorical_fractional_or_negative_category_values() {
    let clean = file::bytes();
    let p = file::pickle(&clean);
    let enc = file::array_bytes(
        &p,
        &[
            "_preprocessor",
            "transformers_",
            "0",
            "1",
            "categories_",
            "0",
        ],
    );
    let at = file::find(&clean, &enc, 0);
    for (bad, shown) in [
        (2.5f64, "2.5"),
        (-1.0, "-1.0"),
        (1e30, "1e30"),
        (f64::INFINITY, "inf"),
    ] {
        let mut b = clean.clone();
        b[at + 16..at + 24].copy_from_slice(&bad.to_le_bytes());
        let e = file::err(&b);
        assert!(
            e.contains("categories_[0]")
                && e.contains(&format!("category {shown} is not an integer")),
            "{bad}: {e}"
        );
    }
    // Out of order (a duplicate): codes would no longer name one value each.
    let mut b = clean.clone();
    b[at + 16..at + 24].copy_from_slice(&1.0f64.to_le_bytes());
    assert!(file::err(&b).contains("not strictly increasing"));
}

#[test]
fn hgb_categorical_byte_flips_never_panic() {
    let b = file::bytes();
    let opts = edgewood_import::ImportOptions::default();
    flips(&b, 300, |m| match edgewood_import::import_bytes(m, &opts) {
        Ok(e) => {
            let bytes = e.encode().unwrap();
            let model = edgewood_core::Model::open_validated(&bytes).unwrap();
            model.predict(&vec![f64::NAN; model.n_features()]).unwrap();
            model.predict(&vec![-0.5; model.n_features()]).unwrap();
            true
        }
        Err(_) => false,
    });
}
