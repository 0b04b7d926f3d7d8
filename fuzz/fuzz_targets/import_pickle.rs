//! Any bytes through the importer: an error, or a model that encodes and validates.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    edgewood_import::fuzzing::convert_then_predict(data);
});
