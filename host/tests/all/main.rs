//! Integration tests of the `edgewood` command: one binary, a module per feature.
//!
//! Every test runs the built binary on temporary files and checks its exit code,
//! its output and its one-line error messages.

// Shared helpers: running the binary, building small models, reading CSV output.
mod util;

// Bad input of every kind: exit codes and messages naming line and feature.
mod errors;
// `edgewood component`: packaging a model into the HTTP component.
mod component;
// `edgewood component --spin-manifest`: spin.toml, SpinApp, HPA against their schemas.
mod manifests;
// `edgewood convert`: detection, overrides, atomic output.
mod convert;
// `edgewood predict --explain / --leaves`: TreeSHAP columns and leaves.
mod explain;
// `edgewood inspect`: text and JSON.
mod inspect;
// Bit-for-bit parity with the source libraries on every fixture of the manifest.
mod parity;
// `edgewood predict`: column matching, missing values, chunking, stdin/stdout.
mod predict;
// `edgewood predict -o out.parquet`: the CSV output's values, bit for bit.
mod parquet_out;
