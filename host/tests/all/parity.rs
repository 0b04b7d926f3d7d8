//! Bit-for-bit parity of `edgewood predict` with the source libraries on every
//! fixture of `tests/fixtures/manifest.json` that the importer reads.
//!
//! Each fixture's model goes through the CLI as given (imported on the fly), on its
//! `<expected>.input.csv`; every float of the output must have the same bits as the
//! library's own output in `<expected>.expected.csv`, multiclass probabilities
//! included (each library's own `exp`, see `edgewood_core::Link`). The one exception is
//! ONNX, compared with its source model ([`ONNX_RELATIVE`]), and fixtures in a format `edgewood_import::detect` does not recognise, or listed in
//! [`UNSUPPORTED`], are skipped. Everything is printed
//! (`cargo test -p edgewood --test all parity -- --nocapture`).

use std::path::Path;

use crate::util::*;

/// Fixtures the importer recognises but cannot read yet, with the reason. Each entry
/// is a known, reported gap: the test prints it, and fails once the fixture imports,
/// so that the entry is removed and the fixture checked.
const UNSUPPORTED: &[(&str, &str)] = &[];

/// ONNX files store leaf weights as float32, so they cannot reproduce the source
/// scikit-learn model's float64 sums bit for bit. Edgewood's ONNX reader targets the
/// source model's decisions (float32 input cast, as scikit-learn does), so ONNX
/// fixtures are compared with the source's outputs (`expected.csv`): the same labels,
/// every value within this relative difference.
const ONNX_RELATIVE: f64 = 1e-6;

/// How a fixture's output is compared.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Check {
    /// Same bits.
    Exact,
    /// Within this relative difference (or absolute, below 1).
    Relative(f64),
}

fn close(x: f64, y: f64, check: Check) -> bool {
    match check {
        Check::Exact => x.to_bits() == y.to_bits(),
        Check::Relative(r) => (x - y).abs() <= r * y.abs().max(1.0),
    }
}

/// One manifest entry's fields that this test uses.
struct Fixture {
    name: String,
    model: String,
    expected: String,
    output: String,
    /// `sklearn-joblib`, `xgboost-json`, `onnx`, …
    format: String,
    /// The feature names of the input CSV (the model may have generic ones).
    features: Vec<String>,
}

fn manifest() -> Vec<Fixture> {
    let text = std::fs::read_to_string(fixtures().join("manifest.json"))
        .expect("tests/fixtures/manifest.json exists");
    let v: serde_json::Value = serde_json::from_str(&text).expect("the manifest is JSON");
    let field = |e: &serde_json::Value, k: &str| -> Option<String> {
        e.get(k).and_then(|x| x.as_str()).map(String::from)
    };
    v.as_array()
        .expect("the manifest is a list")
        .iter()
        .map(|e| {
            let name = field(e, "name").expect("each entry has a name");
            Fixture {
                model: field(e, "model").expect("each entry names its model"),
                expected: field(e, "expected").unwrap_or_else(|| name.clone()),
                format: field(e, "format").unwrap_or_default(),
                output: field(e, "output").unwrap_or_else(|| "proba".into()),
                features: e["features"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                name,
            }
        })
        .collect()
}

/// Labels agree as text, or as numbers (`1` and `1.0`).
fn same_label(a: &str, b: &str) -> bool {
    a == b || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
}

/// Compares our output with the library's; returns the first difference.
fn compare(ours: &str, expected: &str, output: &str, check: Check) -> Result<usize, String> {
    let (our_header, our_rows) = parse_csv(ours);
    let (want_header, want_rows) = parse_csv(expected);
    if our_rows.len() != want_rows.len() {
        return Err(format!(
            "{} rows, expected {}",
            our_rows.len(),
            want_rows.len()
        ));
    }
    // `label` fixtures (XGBoost multi:softmax) hold only the label: compare that.
    let label_only = output == "label";
    if !label_only && our_header != want_header {
        return Err(format!("header {our_header:?}, expected {want_header:?}"));
    }
    for (i, (ours, want)) in our_rows.iter().zip(&want_rows).enumerate() {
        let line = i + 2;
        let has_label = want_header.first().is_some_and(|h| h == "label");
        for (c, want_cell) in want.iter().enumerate() {
            let our_cell = &ours[c];
            if has_label && c == 0 {
                if !same_label(our_cell, want_cell) {
                    return Err(format!(
                        "line {line}: label {our_cell}, expected {want_cell}"
                    ));
                }
                continue;
            }
            let (x, y): (f64, f64) = match (our_cell.parse(), want_cell.parse()) {
                (Ok(x), Ok(y)) => (x, y),
                _ => return Err(format!("line {line}: '{our_cell}' vs '{want_cell}'")),
            };
            if !close(x, y, check) {
                return Err(format!(
                    "line {line} column {}: {our_cell}, expected {want_cell}",
                    want_header[c]
                ));
            }
        }
    }
    Ok(our_rows.len())
}

#[test]
fn every_supported_fixture_bit_for_bit() {
    let dir = fixtures();
    let mut exact = Vec::new();
    let mut bounded = Vec::new();
    let mut skipped = Vec::new();
    let mut failures = Vec::new();
    for f in manifest() {
        let model = dir.join(&f.model);
        let bytes = std::fs::read(&model).unwrap_or_else(|e| panic!("{}: {e}", f.model));
        if edgewood_import::detect(&bytes).is_none() {
            skipped.push(format!(
                "{} (format not recognised by edgewood-import)",
                f.name
            ));
            continue;
        }
        if f.output == "refused" {
            // A model Edgewood refuses by design (CatBoost CTRs): a clear error.
            let run = edgewood(Path::new(&dir), &["inspect", model.to_str().unwrap()]);
            if run.code == 0 || !run.stderr.contains("CTRs") {
                failures.push(format!("{}: not refused: {}", f.name, run.stderr.trim()));
            } else {
                skipped.push(format!("{} (refused, as it must be)", f.name));
            }
            continue;
        }
        let unsupported = UNSUPPORTED.iter().find(|(n, _)| *n == f.name);
        let input = dir.join(format!("{}.input.csv", f.expected));
        let (check, expected_file) = if f.format == "onnx" {
            (
                Check::Relative(ONNX_RELATIVE),
                format!("{}.expected.csv", f.expected),
            )
        } else {
            (Check::Exact, format!("{}.expected.csv", f.expected))
        };
        let expected = std::fs::read_to_string(dir.join(&expected_file))
            .unwrap_or_else(|e| panic!("{expected_file}: {e}"));
        // Models trained on bare arrays carry generic names (x0, f0, X_0): name the
        // features as the input CSV does, as a user of such a model would.
        let names = f.features.join(",");
        let mut args = vec!["predict", model.to_str().unwrap(), input.to_str().unwrap()];
        if !f.features.is_empty() {
            args.extend(["--feature-names", &names]);
        }
        let run = edgewood(Path::new(&dir), &args);
        if let Some((_, why)) = unsupported {
            if run.code == 0 {
                failures.push(format!(
                    "{}: now imports: remove it from UNSUPPORTED",
                    f.name
                ));
            } else {
                skipped.push(format!("{} (not supported yet: {why})", f.name));
            }
            continue;
        }
        if run.code != 0 {
            failures.push(format!(
                "{}: exit {}: {}",
                f.name,
                run.code,
                run.stderr.trim()
            ));
            continue;
        }
        match compare(&run.stdout, &expected, &f.output, check) {
            Ok(rows) if check == Check::Exact => exact.push(format!("{} ({rows} rows)", f.name)),
            Ok(rows) => bounded.push(format!(
                "{} ({rows} rows, {check:?} of {expected_file})",
                f.name
            )),
            Err(e) => failures.push(format!("{}: {e}", f.name)),
        }
    }
    println!(
        "parity: {} fixtures bit-exact: {}",
        exact.len(),
        exact.join(", ")
    );
    println!(
        "parity: {} fixtures within bounds: {}",
        bounded.len(),
        bounded.join(", ")
    );
    println!("parity: {} skipped: {}", skipped.len(), skipped.join(", "));
    assert!(
        failures.is_empty(),
        "{} fixtures differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_comparison_catches_a_one_ulp_difference() {
    let want = "label,p_a,p_b\na,0.7,0.3\n";
    let exact = Check::Exact;
    assert_eq!(
        compare("label,p_a,p_b\na,0.7,0.3\n", want, "proba", exact),
        Ok(1)
    );
    let off = f64::from_bits(0.3f64.to_bits() + 1);
    let ours = format!("label,p_a,p_b\na,0.7,{off:?}\n");
    assert!(compare(&ours, want, "proba", exact).is_err());
    assert!(compare("label,p_a,p_b\nb,0.7,0.3\n", want, "proba", exact).is_err());
    assert!(compare("label,p_a,p_b\n", want, "proba", exact).is_err());
    assert!(close(1.0, 1.0 + 1e-7, Check::Relative(1e-6)));
    assert!(!close(1.0, 1.0 + 1e-5, Check::Relative(1e-6)));
    assert!(same_label("1", "1.0"));
}
