//! Any bytes through the importer, seeded with small CatBoost models (JSON export and
//! `.cbm`): an error, or a model that encodes, validates and predicts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    edgewood_import::fuzzing::convert_then_predict(data);
});
