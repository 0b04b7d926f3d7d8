//! `cargo xtask tidy`: every Rust file of the repository opens with a `//!` doc line
//! saying what it is for (house style; also a step of `cargo xtask test`).

use std::path::{Path, PathBuf};

/// Arguments of `cargo xtask tidy`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the tidy checks.
pub fn run(_args: Args) -> anyhow::Result<()> {
    check()
}

/// Fails naming every `.rs` file that does not open with `//!`.
pub fn check() -> anyhow::Result<()> {
    let mut files = Vec::new();
    rust_files(&crate::util::root(), &mut files)?;
    let mut bad = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f)?;
        if !opens_with_module_doc(&text) {
            bad.push(
                f.strip_prefix(crate::util::root())
                    .unwrap_or(f)
                    .display()
                    .to_string(),
            );
        }
    }
    anyhow::ensure!(
        bad.is_empty(),
        "{} Rust files do not open with a `//!` line saying what they are for: {}",
        bad.len(),
        bad.join(", ")
    );
    eprintln!("tidy: {} Rust files, each opens with `//!`", files.len());
    Ok(())
}

/// Whether the first line is a `//!` inner doc comment.
fn opens_with_module_doc(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .lines()
        .next()
        .is_some_and(|l| l.starts_with("//!"))
}

/// Directories that hold no project sources: build output, dependencies, virtual
/// environments, and hidden directories (`.git`, `.venv`, …).
fn skipped(name: &str) -> bool {
    name.starts_with('.') || matches!(name, "target" | "node_modules" | "pkg" | "artifacts")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if !skipped(&name) {
                rust_files(&entry.path(), out)?;
            }
        } else if kind.is_file() && name.ends_with(".rs") {
            out.push(entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_docs() {
        assert!(opens_with_module_doc("//! What this is.\n\nfn main() {}\n"));
        assert!(!opens_with_module_doc("/// An item doc.\nfn main() {}\n"));
        assert!(!opens_with_module_doc("\n//! Too late.\n"));
        assert!(!opens_with_module_doc(""));
        assert!(skipped("target") && skipped(".venv") && !skipped("src"));
    }

    #[test]
    fn this_repository_is_tidy() {
        check().unwrap();
    }
}
