//! The HTTP fuzz target's oracle on stable Rust: every seed in
//! `fuzz/seeds/http_request/`, then thousands of reproducible random mutations of each,
//! through `edgewood_spin::fuzzing::http_request` (the request handling the component
//! runs), must not panic. `cargo xtask fuzz http_request` explores far more.

use edgewood_import::fuzzing::{mutate, Rng};
use edgewood_spin::fuzzing::{http_request, status};

#[test]
fn http_request_seeds_and_mutations() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/http_request");
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 8, "too few seeds");
    let mut rng = Rng::new(3);
    for (name, seed) in &seeds {
        // Each seed reaches what its name says: an answer, a preflight, or a refusal.
        let want = match name.as_str() {
            "preflight.http" => 204,
            "too_large.http" => 413,
            "refused_values.http" => 422,
            _ => 200,
        };
        assert_eq!(status(seed), want, "{name}");
        http_request(seed);
        for _ in 0..1000 {
            http_request(&mutate(seed, &mut rng));
        }
    }
}
