//! `edgewood predict`: column matching, missing values, chunking, stdin/stdout.

use edgewood_core::{first_max, iris, Model};

use crate::util::*;

const IRIS: &str = "sepal_length,sepal_width,petal_length,petal_width";

/// The expected output line of the embedded Iris model for `row`, computed in-process.
fn iris_expected(row: &[f64]) -> Vec<f64> {
    let model = iris::model().unwrap();
    let mut out = vec![0.0; model.prediction_len()];
    model.predict_into(row, &mut out).unwrap();
    out
}

/// A few hundred deterministic rows inside Iris's valid range (0–10).
fn iris_rows(n: usize) -> Vec<[f64; 4]> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // Two decimals, like measurements; 0.00–8.99.
        (state % 900) as f64 / 100.0
    };
    (0..n).map(|_| [next(), next(), next(), next()]).collect()
}

fn iris_csv(rows: &[[f64; 4]]) -> String {
    let mut s = format!("{IRIS}\n");
    for r in rows {
        s.push_str(&format!("{},{},{},{}\n", r[0], r[1], r[2], r[3]));
    }
    s
}

#[track_caller]
fn check_iris_output(out: &str, rows: &[[f64; 4]]) {
    let model = iris::model().unwrap();
    let (header, lines) = parse_csv(out);
    let mut want = vec!["label".to_string()];
    want.extend((0..model.n_classes()).map(|c| format!("p_{}", model.class_label(c))));
    assert_eq!(header, want);
    assert_eq!(lines.len(), rows.len());
    for (line, row) in lines.iter().zip(rows) {
        let p = iris_expected(row);
        assert_eq!(line[0], model.class_label(first_max(&p)));
        for (cell, &x) in line[1..].iter().zip(&p) {
            assert_bits(cell, x);
        }
    }
}

#[test]
fn embedded_iris_matches_the_core_bit_for_bit() {
    let dir = tempdir();
    let rows = iris_rows(50);
    write(dir.path(), "in.csv", iris_csv(&rows));
    let out = edgewood(dir.path(), &["predict", "in.csv"]).ok();
    check_iris_output(&out, &rows);
}

#[test]
fn rows_across_several_chunks() {
    // 2,500 rows: two full chunks of 1,024 and a partial one.
    let dir = tempdir();
    let rows = iris_rows(2500);
    write(dir.path(), "in.csv", iris_csv(&rows));
    let run = edgewood(dir.path(), &["predict", "in.csv", "-o", "out.csv"]);
    assert_eq!(run.ok(), "", "predictions go to the file, not stdout");
    let out = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    check_iris_output(&out, &rows);
}

#[test]
fn the_same_bytes_on_one_thread_and_on_three() {
    // 20,000 rows: several blocks (128 KB, about 7,000 Iris rows, each), so that the three threads
    // finish them out of order and the writer must put them back in order.
    let dir = tempdir();
    let rows = iris_rows(20_000);
    write(dir.path(), "in.csv", iris_csv(&rows));
    let one = edgewood(dir.path(), &["predict", "in.csv", "--threads", "1"]).ok();
    let three = edgewood(dir.path(), &["predict", "in.csv", "--threads", "3"]).ok();
    check_iris_output(&three, &rows);
    assert!(one == three, "--threads 1 and --threads 3 differ");
    let default = edgewood(dir.path(), &["predict", "in.csv"]).ok();
    assert!(one == default, "--threads 1 and the default differ");
}

#[test]
fn quoted_cells_and_line_ends_inside_quotes_across_blocks() {
    // Blocks holding quotes are cut by the CSV parser, not at the last line end: a
    // quoted note with line ends in it, on every seventh row of 20,000 (several
    // blocks), must neither cut a row in two nor shift the rows after it.
    let dir = tempdir();
    let rows = iris_rows(20_000);
    let mut text = format!("{IRIS},note\r\n");
    for (i, r) in rows.iter().enumerate() {
        let note = if i % 7 == 0 {
            "\"a,\n\"\"b\"\"\r\nc\""
        } else {
            ""
        };
        text.push_str(&format!(
            "\"{}\",{},\"{}\",{},{note}\r\n",
            r[0], r[1], r[2], r[3]
        ));
    }
    write(dir.path(), "in.csv", text);
    for threads in ["1", "3"] {
        let out = edgewood(dir.path(), &["predict", "in.csv", "--threads", threads]).ok();
        check_iris_output(&out, &rows);
    }
}

#[test]
fn a_bad_row_deep_in_a_later_chunk_is_named_by_its_line() {
    // Row 17,000 (line 17,001) is in the third block; another bad row after it, in the
    // same chunk, must not be the one named, whatever the thread count.
    let dir = tempdir();
    let rows = iris_rows(20_000);
    let mut lines: Vec<String> = iris_csv(&rows).lines().map(String::from).collect();
    lines[17_000] = "5.1,3.5,abc,0.2".into();
    lines[17_500] = "5.1,3.5,1.4,12.5".into();
    write(dir.path(), "in.csv", lines.join("\n") + "\n");
    for threads in ["1", "3"] {
        let run = edgewood(
            dir.path(),
            &["predict", "in.csv", "--threads", threads, "-o", "out.csv"],
        );
        assert_eq!(
            run.fails(),
            "edgewood: in.csv:17001: feature 'petal_length': cannot read 'abc' as a number",
            "--threads {threads}"
        );
        assert!(
            !dir.path().join("out.csv").exists(),
            "no half-written output"
        );
    }
}

#[test]
fn columns_are_matched_by_name_and_extras_ignored_with_a_warning() {
    let dir = tempdir();
    write(
        dir.path(),
        "in.csv",
        "id,petal_width,petal_length,comment,sepal_width,sepal_length\n\
         1,0.2,1.4,a,3.5,5.1\n\
         2,1.8,5.1,\"b, c\",3.0,5.9\n",
    );
    let run = edgewood(dir.path(), &["predict", "in.csv"]);
    let warning = run.stderr.clone();
    let out = run.ok();
    check_iris_output(&out, &[[5.1, 3.5, 1.4, 0.2], [5.9, 3.0, 5.1, 1.8]]);
    assert_eq!(warning.lines().count(), 1, "one warning: {warning}");
    assert!(warning.contains("id, comment"), "{warning}");
}

#[test]
fn stdin_to_stdout() {
    let dir = tempdir();
    let rows = iris_rows(10);
    let run = edgewood_stdin(
        dir.path(),
        &["predict", "-", "-o", "-"],
        Some(iris_csv(&rows).as_bytes()),
    );
    check_iris_output(&run.ok(), &rows);
}

#[test]
fn an_ewm_file_and_regression_output() {
    let dir = tempdir();
    write(dir.path(), "reg.ewm", regressor());
    write(dir.path(), "in.csv", "y,x\n0,3\n-1,50\n5,50\n-7,\n0,\n");
    let out = edgewood(dir.path(), &["predict", "reg.ewm", "in.csv"]).ok();
    let (header, lines) = parse_csv(&out);
    assert_eq!(header, ["value"]);
    let want = [1.5, -2.25, 1.0 / 3.0, 1.5, 1.5];
    assert_eq!(lines.len(), want.len());
    for (line, &w) in lines.iter().zip(&want) {
        assert_bits(&line[0], w);
    }
    // Shortest round-trip text, not 17 digits.
    assert_eq!(lines[2][0], "0.3333333333333333");
    assert_eq!(lines[0][0], "1.5");
}

#[test]
fn empty_input_gives_only_the_header() {
    let dir = tempdir();
    write(dir.path(), "in.csv", format!("{IRIS}\n"));
    let out = edgewood(dir.path(), &["predict", "in.csv"]).ok();
    assert_eq!(out.lines().count(), 1);
    assert!(out.starts_with("label,p_"));
}

#[test]
fn the_model_in_the_output_agrees_with_the_in_process_model() {
    // The same model given as a file and embedded: identical output.
    let dir = tempdir();
    write(dir.path(), "iris.ewm", iris::EWM);
    let rows = iris_rows(20);
    write(dir.path(), "in.csv", iris_csv(&rows));
    let a = edgewood(dir.path(), &["predict", "iris.ewm", "in.csv"]).ok();
    let b = edgewood(dir.path(), &["predict", "in.csv"]).ok();
    assert_eq!(a, b);
    assert!(Model::open(iris::EWM).is_ok());
}

#[test]
fn a_progress_bar_only_on_a_terminal() {
    // Piped stderr (every other test): no bar, no summary. Under a pseudo-terminal
    // (util-linux `script`): a bar, then one summary line.
    let dir = tempdir();
    let rows = iris_rows(3000);
    write(dir.path(), "in.csv", iris_csv(&rows));
    let run = edgewood(dir.path(), &["predict", "in.csv", "-o", "out.csv"]);
    assert_eq!(run.stderr, "");
    run.ok();
    let bin = env!("CARGO_BIN_EXE_edgewood");
    let Ok(out) = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{bin} predict in.csv -o out2.csv"),
            "/dev/null",
        ])
        .current_dir(dir.path())
        .output()
    else {
        println!("skipped: util-linux `script` is not installed");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains('\u{2588}'), "no progress bar drawn: {text:?}");
    assert!(text.contains("predicted 3000 rows"), "{text:?}");
    let a = std::fs::read(dir.path().join("out.csv")).unwrap();
    let b = std::fs::read(dir.path().join("out2.csv")).unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_spreadsheet_export_with_bom_and_crlf() {
    let dir = tempdir();
    write(
        dir.path(),
        "in.csv",
        format!("\u{feff}{IRIS}\r\n5.1,3.5,1.4,0.2\r\n6.3,3.3,6.0,2.5\r\n"),
    );
    let out = edgewood(dir.path(), &["predict", "in.csv"]).ok();
    check_iris_output(&out, &[[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]]);
}

#[test]
fn a_row_whose_sums_overflow_is_an_error_naming_its_line() {
    // Finite leaves near f64::MAX (a fuzz regression seed): some rows sum past float
    // range. FORMAT.md §9: such a row is refused by line, never printed as NaN or inf.
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/seeds/decode_ewm/regression-overflowing-sums.ewm"),
    )
    .unwrap();
    let model = Model::open_validated(&bytes).unwrap();
    let nf = model.n_features();
    let answers = |x: f64| {
        let mut out = vec![0.0; model.prediction_len()];
        model.predict_into(&vec![x; nf], &mut out).is_ok()
    };
    let candidates = [-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 10.0];
    let fine = *candidates.iter().find(|&&x| answers(x)).unwrap();
    let overflows = *candidates.iter().find(|&&x| !answers(x)).unwrap();
    let names: Vec<&str> = (0..nf).map(|i| model.feature_name(i)).collect();
    let row = |x: f64| vec![x.to_string(); nf].join(",");
    let dir = tempdir();
    write(dir.path(), "m.ewm", &bytes);
    write(
        dir.path(),
        "in.csv",
        format!("{}\n{}\n{}\n", names.join(","), row(fine), row(overflows)),
    );
    let err = edgewood(dir.path(), &["predict", "m.ewm", "in.csv"]).fails();
    assert!(err.contains("in.csv:3:"), "{err}");
    assert!(err.contains("NaN or infinite"), "{err}");
    assert!(!err.to_lowercase().contains("nan,"), "{err}");

    // The first bad row in input order is named, even when a later row of the same
    // chunk cannot be read at all.
    write(
        dir.path(),
        "in.csv",
        format!(
            "{}\n{}\n{}\n{}\nabc\n",
            names.join(","),
            row(fine),
            row(overflows),
            row(fine)
        ),
    );
    for threads in ["1", "2"] {
        let err = edgewood(
            dir.path(),
            &["predict", "m.ewm", "in.csv", "--threads", threads],
        )
        .fails();
        assert!(err.contains("in.csv:3:"), "--threads {threads}: {err}");
    }
}
