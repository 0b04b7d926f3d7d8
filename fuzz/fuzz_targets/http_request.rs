//! Any bytes as an HTTP request (`METHOD PATH`, headers, body) through the Spin
//! component's request handling, natively: a 4xx with a JSON body, a preflight's 204, or
//! a 200 whose numbers are the core's; never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    edgewood_spin::fuzzing::http_request(data);
});
