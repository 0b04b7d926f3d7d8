//! The converter of the `edgewood` npm package (`import { convert } from
//! 'edgewood/convert'`): source model bytes in, validated `.ewm` bytes out.
//!
//! It is a wasm of its own, separate from the engine (`edgewood-wasm`), because the
//! readers of foreign formats and their decompressors are several times the size of the
//! engine: a page that only predicts never downloads them. The JavaScript wrapper in
//! `wasm/js/convert-api.js` loads it lazily on the first conversion.
//!
//! Failures are reported like the engine's: a `None` return, then [`last_error_code`]
//! and [`last_error_message`] (no `js-sys`, to stay small).

use std::cell::RefCell;

use edgewood_import::{FeatureRange, ImportOptions};
use wasm_bindgen::prelude::*;

thread_local! {
    static LAST_ERROR: RefCell<(&'static str, String)> = const { RefCell::new(("", String::new())) };
}

fn fail(code: &'static str, message: String) -> Option<Vec<u8>> {
    LAST_ERROR.with(|e| *e.borrow_mut() = (code, message));
    None
}

/// The code of the last failure.
#[wasm_bindgen]
pub fn last_error_code() -> String {
    LAST_ERROR.with(|e| e.borrow().0.to_owned())
}

/// The message of the last failure, in words.
#[wasm_bindgen]
pub fn last_error_message() -> String {
    LAST_ERROR.with(|e| e.borrow().1.clone())
}

/// Converts source model bytes to `.ewm` bytes.
///
/// `feature_names` / `class_names` rename (empty = keep the source's); `range_features`,
/// `range_min` and `range_max` are parallel lists of valid ranges, where an empty
/// feature name means every feature; `allow_missing` is -1 (keep), 0 or 1. `.ewm` input
/// is validated and returned unchanged when no option is given. `max_model_mib` caps
/// the decompressed size of a compressed model (0 = the default, 256 MiB).
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn convert(
    bytes: Vec<u8>,
    feature_names: Vec<String>,
    class_names: Vec<String>,
    range_features: Vec<String>,
    range_min: Vec<f64>,
    range_max: Vec<f64>,
    allow_missing: i32,
    max_model_mib: u32,
) -> Option<Vec<u8>> {
    let mut options = ImportOptions::default();
    if max_model_mib > 0 {
        options.max_decompressed = (max_model_mib as usize).saturating_mul(1 << 20);
    }
    if !feature_names.is_empty() {
        options.feature_names = Some(feature_names);
    }
    if !class_names.is_empty() {
        options.class_names = Some(class_names);
    }
    if range_features.len() != range_min.len() || range_min.len() != range_max.len() {
        return fail(
            "invalid_argument",
            "valid ranges need a feature, a min and a max each".to_owned(),
        );
    }
    for ((feature, min), max) in range_features.into_iter().zip(range_min).zip(range_max) {
        if min.is_nan() || max.is_nan() || min > max {
            return fail(
                "invalid_argument",
                format!("a valid range needs min <= max, got {min} and {max}"),
            );
        }
        options.valid_ranges.push(FeatureRange {
            feature: (!feature.is_empty()).then_some(feature),
            min,
            max,
        });
    }
    options.allow_missing = match allow_missing {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    };
    match edgewood_import::convert(&bytes, &options) {
        Ok(converted) => Some(converted.ewm),
        Err(e) => fail(e.code(), e.to_string()),
    }
}
