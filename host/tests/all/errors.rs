//! Bad input of every kind: exit code 1 (2 for usage), one line on stderr that names
//! the file, line and feature concerned, and no half-written output.

use crate::util::*;

const IRIS: &str = "sepal_length,sepal_width,petal_length,petal_width";

#[test]
fn out_of_range_names_line_and_feature() {
    let dir = tempdir();
    write(
        dir.path(),
        "input.csv",
        format!("{IRIS}\n5.1,3.5,1.4,0.2\n5.1,3.5,1.4,12.5\n"),
    );
    let line = edgewood(dir.path(), &["predict", "input.csv"]).fails();
    assert_eq!(
        line,
        "edgewood: input.csv:3: feature 'petal_width' must be between 0 and 10, got 12.5"
    );
}

#[test]
fn missing_value_where_not_allowed() {
    let dir = tempdir();
    write(dir.path(), "input.csv", format!("{IRIS}\n5.1,,1.4,0.2\n"));
    let line = edgewood(dir.path(), &["predict", "input.csv"]).fails();
    assert!(line.contains("input.csv:2:"), "{line}");
    assert!(line.contains("'sepal_width'"), "{line}");
}

#[test]
fn a_cell_that_is_not_a_number() {
    let dir = tempdir();
    write(
        dir.path(),
        "input.csv",
        format!("{IRIS}\n5.1,3.5,1.4,0.2\n\n5.1,3.5,1.4,0.2\n5.1,3.5,abc,0.2\n"),
    );
    let line = edgewood(dir.path(), &["predict", "input.csv"]).fails();
    assert_eq!(
        line,
        "edgewood: input.csv:5: feature 'petal_length': cannot read 'abc' as a number"
    );
}

#[test]
fn a_bad_row_is_named_by_its_own_line_after_crlf_and_blank_lines() {
    // The csv crate's reader named the line the previous record ended on (here 3 and
    // 4): a spreadsheet's CRLF line ends put every row one line early.
    let dir = tempdir();
    for (text, want) in [
        (
            format!("{IRIS}\r\n5.1,3.5,1.4,0.2\r\n5.1,3.5,abc,0.2\r\n"),
            3,
        ),
        (
            format!("{IRIS}\r\n5.1,3.5,1.4,0.2\r\n\r\n\n5.1,3.5,abc,0.2\r\n"),
            5,
        ),
        (format!("{IRIS}\n5.1,3.5,1.4,0.2\n\n\n5.1,3.5,abc,0.2\n"), 5),
    ] {
        write(dir.path(), "input.csv", text);
        let line = edgewood(dir.path(), &["predict", "input.csv"]).fails();
        assert_eq!(
            line,
            format!(
                "edgewood: input.csv:{want}: feature 'petal_length': cannot read 'abc' as a number"
            )
        );
    }
}

#[test]
fn infinity_is_refused() {
    let dir = tempdir();
    write(
        dir.path(),
        "input.csv",
        format!("{IRIS}\n5.1,3.5,inf,0.2\n"),
    );
    let line = edgewood(dir.path(), &["predict", "input.csv"]).fails();
    assert!(
        line.contains("input.csv:2: feature 'petal_length'"),
        "{line}"
    );
}

#[test]
fn a_missing_column_is_named() {
    let dir = tempdir();
    write(
        dir.path(),
        "input.csv",
        "sepal_length,sepal_width,petal_lenght,petal_width\n5.1,3.5,1.4,0.2\n",
    );
    let line = edgewood(dir.path(), &["predict", "input.csv"]).fails();
    assert!(
        line.starts_with("edgewood: input.csv:1: missing column 'petal_length'"),
        "{line}"
    );
}

#[test]
fn a_duplicated_column() {
    let dir = tempdir();
    write(
        dir.path(),
        "input.csv",
        format!("{IRIS},petal_width\n5.1,3.5,1.4,0.2,0.3\n"),
    );
    let line = edgewood(dir.path(), &["predict", "input.csv"]).fails();
    assert!(
        line.contains("'petal_width' appears more than once"),
        "{line}"
    );
}

#[test]
fn a_short_row() {
    let dir = tempdir();
    write(
        dir.path(),
        "input.csv",
        format!("{IRIS}\n5.1,3.5,1.4,0.2\n5.1,3.5,1.4\n"),
    );
    let line = edgewood(dir.path(), &["predict", "input.csv"]).fails();
    assert_eq!(
        line,
        "edgewood: input.csv:3: 3 fields, but the header has 4"
    );
}

#[test]
fn an_empty_file() {
    let dir = tempdir();
    write(dir.path(), "input.csv", "");
    let line = edgewood(dir.path(), &["predict", "input.csv"]).fails();
    assert!(line.contains("input.csv: empty input"), "{line}");
}

#[test]
fn files_that_do_not_exist() {
    let dir = tempdir();
    write(
        dir.path(),
        "input.csv",
        format!("{IRIS}\n5.1,3.5,1.4,0.2\n"),
    );
    let line = edgewood(dir.path(), &["predict", "nope.csv"]).fails();
    assert!(line.contains("cannot open nope.csv"), "{line}");
    let line = edgewood(dir.path(), &["predict", "nope.ewm", "input.csv"]).fails();
    assert!(line.contains("cannot read nope.ewm"), "{line}");
    let line = edgewood(dir.path(), &["inspect", "nope.ewm"]).fails();
    assert!(line.contains("cannot read nope.ewm"), "{line}");
}

#[test]
fn a_corrupt_ewm_model() {
    let dir = tempdir();
    let mut bytes = regressor();
    bytes.truncate(bytes.len() - 7);
    write(dir.path(), "bad.ewm", &bytes);
    let line = edgewood(dir.path(), &["inspect", "bad.ewm"]).fails();
    assert!(line.starts_with("edgewood: bad.ewm: "), "{line}");
    assert!(line.contains("truncated"), "{line}");
}

#[test]
fn a_file_in_no_known_format() {
    let dir = tempdir();
    write(dir.path(), "junk.bin", b"\x00\x01 definitely not a model");
    write(
        dir.path(),
        "input.csv",
        format!("{IRIS}\n5.1,3.5,1.4,0.2\n"),
    );
    let line = edgewood(dir.path(), &["predict", "junk.bin", "input.csv"]).fails();
    assert!(line.contains("junk.bin"), "{line}");
    let line = edgewood(dir.path(), &["convert", "junk.bin", "-o", "out.ewm"]).fails();
    assert!(line.contains("junk.bin"), "{line}");
    assert!(!dir.path().join("out.ewm").exists());
}

#[test]
fn a_failed_run_leaves_the_old_output_alone() {
    let dir = tempdir();
    write(dir.path(), "out.csv", "previous results\n");
    write(
        dir.path(),
        "input.csv",
        format!("{IRIS}\n5.1,3.5,1.4,0.2\n5.1,3.5,1.4,-1\n"),
    );
    edgewood(dir.path(), &["predict", "input.csv", "-o", "out.csv"]).fails();
    let old = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(old, "previous results\n");
    // And no temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn overrides_on_a_model_that_is_not_imported() {
    let dir = tempdir();
    write(
        dir.path(),
        "input.csv",
        format!("{IRIS}\n5.1,3.5,1.4,0.2\n"),
    );
    let line = edgewood(dir.path(), &["predict", "input.csv", "--range", "*=0:5"]).fails();
    assert!(line.contains("only when importing"), "{line}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempdir();
    for args in [
        &["predict"][..],
        &["predict", "a", "b", "c"],
        &["convert", "in.joblib"],
        &["frobnicate"],
        &["predict", "x.csv", "--range", "petal_width=10:0"],
        &["predict", "x.csv", "--range", "nonsense"],
        &["predict", "x.csv", "--threads", "0"],
    ] {
        let run = edgewood(dir.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    }
    assert_eq!(edgewood(dir.path(), &["--help"]).code, 0);
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    // `edgewood predict big.csv | head -1`: the broken pipe ends the run quietly.
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempdir();
    let mut csv = format!("{IRIS}\n");
    for _ in 0..200_000 {
        csv.push_str("5.1,3.5,1.4,0.2\n");
    }
    write(dir.path(), "big.csv", csv);
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgewood"))
        .args(["predict", "big.csv"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("label,"));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn inspect_into_a_closed_pipe_is_not_an_error() {
    use std::process::{Command, Stdio};
    let dir = tempdir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgewood"))
        .args(["inspect", "--json"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
}

/// Issue 13 item 5: `--max-model-mib` sets the decompression cap of every command that
/// reads a model. The file is a gzip stream of a pickle header whose trailer declares
/// 2 MiB: refused under a 1 MiB cap before anything is decoded.
#[test]
fn max_model_mib_caps_the_decompressed_size() {
    let dir = tempdir();
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    // One stored deflate block holding 0x80 0x04, then a CRC32 and ISIZE = 2 MiB.
    gz.extend_from_slice(&[1, 2, 0, 0xfd, 0xff, 0x80, 4, 0, 0, 0, 0]);
    gz.extend_from_slice(&(2u32 << 20).to_le_bytes());
    std::fs::write(dir.path().join("bomb.joblib"), &gz).unwrap();
    write(dir.path(), "in.csv", format!("{IRIS}\n5.1,3.5,1.4,0.2\n"));
    let want = "bomb.joblib: refusing the model: the declared decompressed size exceeds the limit of 1048576";
    for args in [
        &[
            "convert",
            "bomb.joblib",
            "-o",
            "out.ewm",
            "--max-model-mib",
            "1",
        ][..],
        &["predict", "bomb.joblib", "in.csv", "--max-model-mib", "1"],
        &["inspect", "bomb.joblib", "--max-model-mib", "1"],
    ] {
        let line = edgewood(dir.path(), args).fails();
        assert!(line.ends_with(want), "{args:?}: {line}");
    }
    // Under the default cap (256 MiB) the stream is decoded, and its CRC is wrong.
    let line = edgewood(dir.path(), &["convert", "bomb.joblib", "-o", "out.ewm"]).fails();
    assert!(line.contains("gzip"), "{line}");
    let run = edgewood(
        dir.path(),
        &["convert", "bomb.joblib", "-o", "x", "--max-model-mib", "0"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
}
