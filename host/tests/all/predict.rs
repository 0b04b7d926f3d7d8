//! `edgewood predict`: column matching, missing values, chunking, stdin/stdout, Parquet
//! input.

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
pub fn iris_rows(n: usize) -> Vec<[f64; 4]> {
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

pub fn iris_csv(rows: &[[f64; 4]]) -> String {
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

/// One column of a test Parquet file: its schema line and its values.
pub enum ParquetColumn {
    /// `OPTIONAL DOUBLE` (None is a null).
    Double(&'static str, Vec<Option<f64>>),
    /// `REQUIRED FLOAT`.
    Float(&'static str, Vec<f32>),
    /// `REQUIRED INT64`.
    Int64(&'static str, Vec<i64>),
    /// `REQUIRED BYTE_ARRAY (UTF8)`.
    Text(&'static str, Vec<String>),
}

/// Writes `columns` as a Snappy-compressed Parquet file, `group` rows per row group.
pub fn write_parquet(path: &std::path::Path, columns: &[ParquetColumn], group: usize) {
    use parquet::basic::Compression;
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, FloatType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;

    let fields: Vec<String> = columns
        .iter()
        .map(|c| match c {
            ParquetColumn::Double(n, _) => format!("OPTIONAL DOUBLE {n};"),
            ParquetColumn::Float(n, _) => format!("REQUIRED FLOAT {n};"),
            ParquetColumn::Int64(n, _) => format!("REQUIRED INT64 {n};"),
            ParquetColumn::Text(n, _) => format!("REQUIRED BYTE_ARRAY {n} (UTF8);"),
        })
        .collect();
    let schema = parquet::schema::parser::parse_message_type(&format!(
        "message rows {{ {} }}",
        fields.join(" ")
    ))
    .unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).unwrap();
    let rows = match &columns[0] {
        ParquetColumn::Double(_, v) => v.len(),
        ParquetColumn::Float(_, v) => v.len(),
        ParquetColumn::Int64(_, v) => v.len(),
        ParquetColumn::Text(_, v) => v.len(),
    };
    for start in (0..rows).step_by(group) {
        let range = start..(start + group).min(rows);
        let mut rg = writer.next_row_group().unwrap();
        for column in columns {
            let mut col = rg.next_column().unwrap().unwrap();
            match column {
                ParquetColumn::Double(_, v) => {
                    let v = &v[range.clone()];
                    let defs: Vec<i16> = v.iter().map(|x| i16::from(x.is_some())).collect();
                    let values: Vec<f64> = v.iter().flatten().copied().collect();
                    col.typed::<DoubleType>()
                        .write_batch(&values, Some(&defs), None)
                        .unwrap();
                }
                ParquetColumn::Float(_, v) => {
                    col.typed::<FloatType>()
                        .write_batch(&v[range.clone()], None, None)
                        .unwrap();
                }
                ParquetColumn::Int64(_, v) => {
                    col.typed::<Int64Type>()
                        .write_batch(&v[range.clone()], None, None)
                        .unwrap();
                }
                ParquetColumn::Text(_, v) => {
                    let values: Vec<ByteArray> =
                        v[range.clone()].iter().map(|s| s.as_str().into()).collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&values, None, None)
                        .unwrap();
                }
            }
            col.close().unwrap();
        }
        rg.close().unwrap();
    }
    writer.close().unwrap();
}

/// Iris rows as Parquet columns in another order, of several types, beside a text
/// column the model does not use; and the rows as the model sees them.
pub fn iris_parquet(n: usize) -> (Vec<ParquetColumn>, Vec<[f64; 4]>) {
    let rows: Vec<[f64; 4]> = iris_rows(n)
        .into_iter()
        .map(|[a, b, c, d]| [a, f64::from(b as f32), c.round(), d])
        .collect();
    let columns = vec![
        ParquetColumn::Double("petal_width", rows.iter().map(|r| Some(r[3])).collect()),
        ParquetColumn::Text("note", (0..n).map(|i| format!("row {i}")).collect()),
        ParquetColumn::Int64("petal_length", rows.iter().map(|r| r[2] as i64).collect()),
        ParquetColumn::Double("sepal_length", rows.iter().map(|r| Some(r[0])).collect()),
        ParquetColumn::Float("sepal_width", rows.iter().map(|r| r[1] as f32).collect()),
    ];
    (columns, rows)
}

#[test]
fn parquet_input_across_row_groups_and_chunks() {
    // 20,000 rows in row groups of 7,000 (chunks of 8,192 rows cross them), columns
    // of three types in another order than the model's, and one the model ignores.
    let dir = tempdir();
    let (columns, rows) = iris_parquet(20_000);
    write_parquet(&dir.path().join("in.parquet"), &columns, 7_000);
    let one = edgewood(dir.path(), &["predict", "in.parquet", "--threads", "1"]).ok();
    check_iris_output(&one, &rows);
    let three = edgewood(dir.path(), &["predict", "in.parquet", "--threads", "3"]).ok();
    assert!(one == three, "--threads 1 and --threads 3 differ");
    // The same rows as CSV give the same bytes.
    write(dir.path(), "in.csv", iris_csv(&rows));
    let csv = edgewood(dir.path(), &["predict", "in.csv"]).ok();
    assert!(one == csv, "Parquet and CSV input differ");
}

#[test]
fn parquet_bad_rows_are_named_by_row_number() {
    let dir = tempdir();
    let (mut columns, _) = iris_parquet(20_000);
    // Without the unused column (its warning would be a second line on stderr).
    columns.remove(1);
    // A null (missing, which Iris refuses) at row 12,345, and a later value out of
    // range: the first is named, whatever the thread count.
    if let ParquetColumn::Double(_, v) = &mut columns[2] {
        v[12_344] = None;
    }
    if let ParquetColumn::Double(_, v) = &mut columns[0] {
        v[15_000] = Some(12.5);
    }
    write_parquet(&dir.path().join("in.parquet"), &columns, 7_000);
    for threads in ["1", "3"] {
        let err = edgewood(
            dir.path(),
            &[
                "predict",
                "in.parquet",
                "--threads",
                threads,
                "-o",
                "out.csv",
            ],
        )
        .fails();
        assert!(
            err.starts_with("edgewood: in.parquet: row 12345: feature 'sepal_length'"),
            "{err}"
        );
        assert!(
            !dir.path().join("out.csv").exists(),
            "no half-written output"
        );
    }
    if let ParquetColumn::Double(_, v) = &mut columns[2] {
        v[12_344] = Some(5.0);
    }
    write_parquet(&dir.path().join("in.parquet"), &columns, 7_000);
    let err = edgewood(dir.path(), &["predict", "in.parquet"]).fails();
    assert_eq!(
        err,
        "edgewood: in.parquet: row 15001: feature 'petal_width' must be between 0 and 10, got 12.5"
    );
}

#[test]
fn parquet_columns_that_cannot_be_features() {
    let dir = tempdir();
    let (mut columns, _) = iris_parquet(10);
    columns.remove(1);
    columns[3] = ParquetColumn::Text("sepal_width", vec!["3.5".into(); 10]);
    write_parquet(&dir.path().join("in.parquet"), &columns, 7_000);
    let err = edgewood(dir.path(), &["predict", "in.parquet"]).fails();
    assert!(
        err.contains("in.parquet: column 'sepal_width' holds BYTE_ARRAY values"),
        "{err}"
    );
    columns.remove(3);
    write_parquet(&dir.path().join("in.parquet"), &columns, 7_000);
    let err = edgewood(dir.path(), &["predict", "in.parquet"]).fails();
    assert!(
        err.starts_with("edgewood: in.parquet:1: missing column 'sepal_width'"),
        "{err}"
    );
}
