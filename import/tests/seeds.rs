//! The fuzz targets' seed corpora (`fuzz/seeds/<target>/`), read by both test binaries
//! to replay them through the oracles of `edgewood_import::fuzzing` on stable Rust.

/// The seed corpus of fuzz target `target`, sorted by file name. Panics, as a test
/// helper does, when the folder cannot be read or holds fewer than two seeds.
pub fn seed_corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 2, "{target}: too few seeds");
    out
}
