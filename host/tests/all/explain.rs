//! `edgewood predict --explain` / `--leaves`: contributions bit for bit as the core's
//! explainer, the predicted class's or every class's, and the libraries' own leaves.

use edgewood_core::{first_max, Explainer, Model};
use edgewood_import::{convert, ImportOptions};

use crate::util::*;

/// The rows of a fixture's explanation file, as a CSV the CLI reads; and the rows.
fn explained_rows(name: &str) -> (String, Vec<Vec<f64>>) {
    let read = |file: String| std::fs::read_to_string(fixtures().join(file)).unwrap();
    let input = read(format!("{name}.input.csv"));
    let (_, picked) = parse_csv(&read(format!("{name}.explain.csv")));
    let mut lines = input.lines();
    let header = lines.next().unwrap();
    let all: Vec<&str> = lines.collect();
    let mut csv = format!("{header}\n");
    let mut rows = Vec::new();
    for p in &picked {
        let line = all[p[0].parse::<usize>().unwrap()];
        csv.push_str(line);
        csv.push('\n');
        rows.push(
            line.split(',')
                .map(|c| {
                    if c.is_empty() {
                        f64::NAN
                    } else {
                        c.parse().unwrap()
                    }
                })
                .collect(),
        );
    }
    (csv, rows)
}

/// Runs `predict` on fixture `name`'s explained rows with `flags`, and returns the
/// output with the model, as converted in-process.
fn run(name: &str, model_file: &str, flags: &[&str]) -> (Vec<String>, Vec<Vec<String>>, Vec<u8>) {
    let dir = tempdir();
    let model = fixtures().join(model_file);
    let ewm = convert(&std::fs::read(&model).unwrap(), &ImportOptions::default())
        .unwrap()
        .ewm;
    // The input's header names the model's features (scikit-learn's are x0, x1, …).
    let opened = Model::open(&ewm).unwrap();
    let names: Vec<&str> = (0..opened.n_features())
        .map(|i| opened.feature_name(i))
        .collect();
    let (csv, _) = explained_rows(name);
    let body = csv.split_once('\n').unwrap().1;
    write(dir.path(), "in.csv", format!("{}\n{body}", names.join(",")));
    let mut args = vec!["predict", model.to_str().unwrap(), "in.csv"];
    args.extend_from_slice(flags);
    let (header, lines) = parse_csv(&edgewood(dir.path(), &args).ok());
    (header, lines, ewm)
}

#[test]
fn predicted_class_contributions_bit_for_bit() {
    // A forest (probabilities), a multiclass and a binary boosted model (margins).
    for (name, file) in [
        ("iris_rf10", "iris_rf10.joblib"),
        ("lgbm_multiclass", "lgbm_multiclass.txt"),
        ("xgb_binary", "xgb_binary.json"),
        ("xgb_regression", "xgb_regression.json"),
        ("cb_multiclass", "cb_multiclass.cbm"),
    ] {
        let (header, lines, ewm) = run(name, file, &["--explain"]);
        let model = Model::open(&ewm).unwrap();
        let explainer = Explainer::new(model).unwrap();
        let nf = model.n_features();
        let first = header.len() - nf - 1;
        assert_eq!(header[first], format!("shap_{}", model.feature_name(0)));
        assert_eq!(header.last().unwrap(), "shap_base");
        let (_, rows) = explained_rows(name);
        let mut out = vec![0.0; explainer.explanation_len()];
        let mut p = vec![0.0; model.prediction_len()];
        for (line, row) in lines.iter().zip(&rows) {
            explainer.explain_into(row, &mut out).unwrap();
            model.predict_into(row, &mut p).unwrap();
            let class = first_max(&p);
            let (output, sign) = match explainer.n_outputs() {
                1 if model.n_classes() == 2 && class == 0 => (0, -1.0),
                1 => (0, 1.0),
                _ => (class, 1.0),
            };
            let ours = &out[output * (nf + 1)..(output + 1) * (nf + 1)];
            for (cell, &x) in line[first..].iter().zip(ours) {
                assert_bits(cell, if sign < 0.0 { 0.0 - x } else { x });
            }
        }
    }
}

#[test]
fn every_class_and_every_leaf() {
    let (header, lines, ewm) = run(
        "lgbm_multiclass",
        "lgbm_multiclass.txt",
        &["--explain", "all", "--leaves"],
    );
    let model = Model::open(&ewm).unwrap();
    let (nf, k, trees) = (model.n_features(), model.n_classes(), model.n_trees());
    let first = header.len() - k * (nf + 1) - trees;
    let class = model.class_label(k - 1);
    assert_eq!(
        header[first + (k - 1) * (nf + 1)],
        format!("shap_{class}_{}", model.feature_name(0))
    );
    assert_eq!(
        header[first + k * (nf + 1) - 1],
        format!("shap_{class}_base")
    );
    assert_eq!(header[first + k * (nf + 1)], "leaf_0");
    // The leaves are LightGBM's own pred_leaf.
    let leaves = std::fs::read_to_string(fixtures().join("lgbm_multiclass.leaves.csv")).unwrap();
    let (_, expected) = parse_csv(&leaves);
    assert_eq!(lines.len(), expected.len());
    for (line, want) in lines.iter().zip(&expected) {
        assert_eq!(line[first + k * (nf + 1)..], want[1..]);
    }
}

#[test]
fn a_model_without_cover_cannot_explain() {
    let dir = tempdir();
    write(
        dir.path(),
        "in.csv",
        "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n",
    );
    let err = edgewood(dir.path(), &["predict", "in.csv", "--explain"]).fails();
    assert!(err.contains("records no cover"), "{err}");
    // Leaves need no cover: the embedded model numbers them depth-first.
    let out = edgewood(dir.path(), &["predict", "in.csv", "--leaves"]).ok();
    let (header, lines) = parse_csv(&out);
    assert_eq!(header.last().unwrap(), "leaf_99");
    assert_eq!(lines[0].len(), header.len());
}
