//! Any bytes as `.ewm`: open, validate, predict a zero row when valid, and check that the
//! prepared walk answers as the model, row by row and in batches.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    edgewood_import::fuzzing::decode_ewm(data);
});
