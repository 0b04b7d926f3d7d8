//! Input validation names the feature and refuses what the schema does not allow.

use edgewood_core::{InputError, Model};

fn iris() -> Model<'static> {
    edgewood_core::iris::model().unwrap()
}

#[test]
fn the_embedded_iris_model_is_valid() {
    let model = iris();
    model.validate().unwrap();
    assert_eq!(model.n_features(), 4);
    assert_eq!(model.class_label(2), "virginica");
    assert_eq!(model.valid_range(3), Some((0.0, 10.0)));
}

#[test]
fn named_rows_are_matched_by_name() {
    let model = iris();
    let row = model
        .row_from_named([
            ("petal_width", 0.2),
            ("sepal_length", 5.1),
            ("petal_length", 1.4),
            ("sepal_width", 3.5),
        ])
        .unwrap();
    assert_eq!(row, vec![5.1, 3.5, 1.4, 0.2]);
}

#[test]
fn bad_inputs_name_the_feature() {
    let model = iris();
    let full = |v: f64| {
        [
            ("sepal_length", 5.1),
            ("sepal_width", 3.5),
            ("petal_length", 1.4),
            ("petal_width", v),
        ]
    };
    // (named row, expected error code, the feature the error names)
    type Case<'a> = (Vec<(&'a str, f64)>, &'a str, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (full(10.5).to_vec(), "out_of_range", Some("petal_width")),
        (full(-0.1).to_vec(), "out_of_range", Some("petal_width")),
        (full(f64::NAN).to_vec(), "not_finite", Some("petal_width")),
        (
            full(f64::INFINITY).to_vec(),
            "not_finite",
            Some("petal_width"),
        ),
        (
            full(1.0)[..3].to_vec(),
            "missing_feature",
            Some("petal_width"),
        ),
        (
            [&full(1.0)[..], &[("petal_width", 1.0)]].concat(),
            "duplicate_feature",
            Some("petal_width"),
        ),
        (
            [&full(1.0)[..], &[("colour", 1.0)]].concat(),
            "unknown_feature",
            Some("colour"),
        ),
    ];
    for (pairs, code, feature) in cases {
        let err = model.row_from_named(pairs.iter().copied()).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert_eq!(err.feature(), feature);
        assert!(err.to_string().contains(feature.unwrap()), "{err}");
    }
    assert_eq!(
        model.validate_row(&[1.0, 2.0]),
        Err(InputError::RowLength {
            expected: 4,
            found: 2
        })
    );
    assert!(
        model.validate_row(&[0.0, 10.0, 5.0, 1.0]).is_ok(),
        "the range is closed"
    );
}
