//! Helpers for the CLI tests: run `edgewood`, write small `.ewm` models, compare CSVs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use edgewood_core::{Aggregation, Comparison, Ensemble, Feature, Node, Task, Tree};

/// The outcome of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "expected success, stderr: {}", self.stderr);
        self.stdout
    }

    /// Asserts a failure (exit 1) with exactly one line on stderr, and returns it.
    #[track_caller]
    pub fn fails(self) -> String {
        assert_eq!(self.code, 1, "expected exit 1; stdout: {}", self.stdout);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one line on stderr: {:?}",
            self.stderr
        );
        lines[0].to_string()
    }
}

/// Runs `edgewood ARGS` in `dir`.
pub fn edgewood(dir: &Path, args: &[&str]) -> Run {
    edgewood_stdin(dir, args, None)
}

/// Runs `edgewood ARGS` in `dir` with `stdin` as standard input.
pub fn edgewood_stdin(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgewood"))
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the edgewood binary runs");
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(data).unwrap();
    }
    Run::from(child.wait_with_output().unwrap())
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Writes `contents` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// The repository's `tests/fixtures` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn feature(name: &str, range: Option<(f64, f64)>, allow_missing: bool) -> Feature {
    let mut f = Feature::named(name);
    f.valid_range = range;
    f.allow_missing = allow_missing;
    f
}

/// A regressor on `x` (0–100, missing allowed, NaN goes left) and `y` (no range):
/// `x <= 10 → 1.5`, else `y <= 0 → -2.25`, else `1/3`.
pub fn regressor() -> Vec<u8> {
    let leaf = |v: f64| Node::Leaf(vec![v]);
    Ensemble {
        features: vec![
            feature("x", Some((0.0, 100.0)), true),
            feature("y", None, false),
        ],
        task: Task::Regression,
        aggregation: Aggregation::Average,
        comparison: Comparison::F64LessEqual,
        leaf_width: 1,
        trees: vec![Tree {
            stats: None,
            output: 0,
            nodes: vec![
                Node::Split {
                    feature: 0,
                    threshold: 10.0,
                    missing_left: true,
                    left: 1,
                    right: 2,
                },
                leaf(1.5),
                Node::Split {
                    feature: 1,
                    threshold: 0.0,
                    missing_left: false,
                    left: 3,
                    right: 4,
                },
                leaf(-2.25),
                leaf(1.0 / 3.0),
            ],
        }],
        source: "test regressor".into(),
    }
    .encode()
    .unwrap()
}

/// Parses a CSV text into its header and rows of cells.
pub fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Asserts `cell` is the float `x` to the bit.
#[track_caller]
pub fn assert_bits(cell: &str, x: f64) {
    let parsed: f64 = cell
        .parse()
        .unwrap_or_else(|_| panic!("'{cell}' is not a float"));
    assert_eq!(parsed.to_bits(), x.to_bits(), "'{cell}' is not {x:?}");
}
