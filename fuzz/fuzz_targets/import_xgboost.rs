//! Any bytes through the importer, seeded with small xgboost models: an error, or a model
//! that encodes, validates and predicts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    edgewood_import::fuzzing::convert_then_predict(data);
});
