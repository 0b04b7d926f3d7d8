//! Any bytes as `.ewm`: open, validate, and predict a zero row when valid.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    edgewood_import::fuzzing::decode_ewm(data);
});
