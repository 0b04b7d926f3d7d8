//! `edgewood predict -o out.parquet`: the columns of the CSV output with the very
//! values it prints, read back with the parquet crate's own reader; row groups across
//! chunks and threads; errors.

use std::path::Path;

use parquet::basic::{LogicalType, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use crate::predict::{iris_csv, iris_parquet, iris_rows, write_parquet};
use crate::util::*;

/// A Parquet file as read back: column names, each column's physical and logical
/// type, the rows, and the number of row groups.
struct Read {
    names: Vec<String>,
    types: Vec<(PhysicalType, Option<LogicalType>)>,
    rows: Vec<Vec<Field>>,
    groups: usize,
}

fn read_parquet(path: &Path) -> Read {
    let file = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let schema = file.metadata().file_metadata().schema_descr_ptr();
    let columns = schema.columns();
    let rows = file
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            row.unwrap()
                .get_column_iter()
                .map(|(_, f)| f.clone())
                .collect()
        })
        .collect();
    Read {
        names: columns.iter().map(|c| c.name().to_string()).collect(),
        types: columns
            .iter()
            .map(|c| (c.physical_type(), c.logical_type_ref().cloned()))
            .collect(),
        rows,
        groups: file.num_row_groups(),
    }
}

/// Asserts that the Parquet file at `path` holds what the CSV text `csv` does: the
/// same columns, a string label, DOUBLEs with the bits the text parses to, and
/// unsigned 32-bit leaves.
#[track_caller]
fn assert_same(csv: &str, path: &Path) -> Read {
    let (header, lines) = parse_csv(csv);
    let read = read_parquet(path);
    assert_eq!(read.names, header);
    assert_eq!(read.rows.len(), lines.len());
    for (name, (physical, logical)) in header.iter().zip(&read.types) {
        let want = if name == "label" {
            (PhysicalType::BYTE_ARRAY, Some(LogicalType::String))
        } else if name.starts_with("leaf_") {
            (PhysicalType::INT32, Some(LogicalType::integer(32, false)))
        } else {
            (PhysicalType::DOUBLE, None)
        };
        assert_eq!((*physical, logical.clone()), want, "column {name}");
    }
    for (r, (row, line)) in read.rows.iter().zip(&lines).enumerate() {
        assert_eq!(row.len(), line.len());
        for (field, cell) in row.iter().zip(line) {
            match field {
                Field::Str(s) => assert_eq!(s, cell, "row {r}"),
                Field::Double(x) => assert_bits(cell, *x),
                Field::UInt(leaf) => assert_eq!(&leaf.to_string(), cell, "row {r}"),
                other => panic!("row {r}: unexpected {other:?}"),
            }
        }
    }
    read
}

#[test]
fn the_csv_values_bit_for_bit() {
    // A forest and a boosted classifier (probabilities that repeat a lot and that do
    // not), and a regressor, with every extra column.
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "iris_rf10.joblib",
            "iris_rf10",
            &["--explain", "all", "--leaves"],
        ),
        (
            "lgbm_multiclass.txt",
            "lgbm_multiclass",
            &["--explain", "--leaves"],
        ),
        (
            "extra_trees_regressor.joblib",
            "extra_trees_regressor",
            &["--explain", "--leaves"],
        ),
        ("extra_trees_regressor.joblib", "extra_trees_regressor", &[]),
    ];
    for (model, name, flags) in cases {
        let dir = tempdir();
        let model = fixtures().join(model);
        let input = fixtures().join(format!("{name}.input.csv"));
        let mut args = vec!["predict", model.to_str().unwrap(), input.to_str().unwrap()];
        args.extend_from_slice(flags);
        let csv = edgewood(dir.path(), &args).ok();
        args.extend_from_slice(&["-o", "out.parquet"]);
        assert_eq!(edgewood(dir.path(), &args).ok(), "", "nothing on stdout");
        let read = assert_same(&csv, &dir.path().join("out.parquet"));
        assert!(read.rows.len() > 200, "{name}: {} rows", read.rows.len());
    }
}

#[test]
fn row_groups_across_chunks_and_threads() {
    // 25,000 rows with the leaves of the embedded model's 100 trees: 104 columns,
    // several row groups, each gathered from chunks predicted on several threads.
    let dir = tempdir();
    let rows = iris_rows(25_000);
    write(dir.path(), "in.csv", iris_csv(&rows));
    let csv = edgewood(dir.path(), &["predict", "in.csv", "--leaves"]).ok();
    let mut files = Vec::new();
    for threads in ["1", "3"] {
        let out = format!("out{threads}.parquet");
        let args = [
            "predict",
            "in.csv",
            "--leaves",
            "--threads",
            threads,
            "-o",
            &out,
        ];
        edgewood(dir.path(), &args).ok();
        let read = assert_same(&csv, &dir.path().join(&out));
        assert!(read.groups >= 2, "{} row groups", read.groups);
        files.push(std::fs::read(dir.path().join(&out)).unwrap());
    }
    assert!(files[0] == files[1], "--threads 1 and --threads 3 differ");
    // A Parquet input gives the same file as the CSV with its rows.
    let (columns, rows) = iris_parquet(20_000);
    write_parquet(&dir.path().join("in.parquet"), &columns, 7_000);
    write(dir.path(), "rows.csv", iris_csv(&rows));
    let args = ["predict", "in.parquet", "-o", "from_parquet.parquet"];
    edgewood(dir.path(), &args).ok();
    edgewood(
        dir.path(),
        &["predict", "rows.csv", "-o", "from_csv.parquet"],
    )
    .ok();
    let read = |f: &str| std::fs::read(dir.path().join(f)).unwrap();
    assert!(read("from_parquet.parquet") == read("from_csv.parquet"));
    let csv = edgewood(dir.path(), &["predict", "rows.csv"]).ok();
    assert_same(&csv, &dir.path().join("from_csv.parquet"));
}

#[test]
fn no_rows_give_the_columns_alone() {
    let dir = tempdir();
    write(
        dir.path(),
        "in.csv",
        "sepal_length,sepal_width,petal_length,petal_width\n",
    );
    edgewood(dir.path(), &["predict", "in.csv", "-o", "out.parquet"]).ok();
    let read = assert_same(
        "label,p_setosa,p_versicolor,p_virginica\n",
        &dir.path().join("out.parquet"),
    );
    assert_eq!((read.rows.len(), read.groups), (0, 0));
}

#[test]
fn errors_leave_no_file() {
    let dir = tempdir();
    let mut rows = iris_rows(20_000);
    rows[15_000][3] = 12.5;
    write(dir.path(), "in.csv", iris_csv(&rows));
    // A bad row in a later chunk: no Parquet file, not even a partial one, and an
    // older one is left as it was.
    let err = edgewood(dir.path(), &["predict", "in.csv", "-o", "out.parquet"]).fails();
    assert_eq!(
        err,
        "edgewood: in.csv:15002: feature 'petal_width' must be between 0 and 10, got 12.5"
    );
    assert!(!dir.path().join("out.parquet").exists());
    write(dir.path(), "old.parquet", "older");
    edgewood(dir.path(), &["predict", "in.csv", "-o", "old.parquet"]).fails();
    assert_eq!(
        std::fs::read(dir.path().join("old.parquet")).unwrap(),
        b"older"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary file left behind"
    );
    // Where nothing can be written.
    rows[15_000][3] = 1.5;
    write(dir.path(), "in.csv", iris_csv(&rows[..10]));
    let err = edgewood(
        dir.path(),
        &["predict", "in.csv", "-o", "no/such/dir/out.parquet"],
    )
    .fails();
    assert!(
        err.starts_with("edgewood: cannot create a file in no/such/dir: "),
        "{err}"
    );
    std::fs::create_dir(dir.path().join("a_dir.parquet")).unwrap();
    let err = edgewood(dir.path(), &["predict", "in.csv", "-o", "a_dir.parquet"]).fails();
    assert!(
        err.starts_with("edgewood: cannot write a_dir.parquet: "),
        "{err}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_named_for_both_formats() {
    // A device that refuses every write (ENOSPC): written into, not renamed over.
    let dir = tempdir();
    write(dir.path(), "in.csv", iris_csv(&iris_rows(30_000)));
    for out in ["full.parquet", "full.csv"] {
        std::os::unix::fs::symlink("/dev/full", dir.path().join(out)).unwrap();
        let err = edgewood(dir.path(), &["predict", "in.csv", "--leaves", "-o", out]).fails();
        assert_eq!(
            err,
            format!("edgewood: cannot write {out}: No space left on device (os error 28)")
        );
    }
}
