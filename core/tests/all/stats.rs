//! §11 node statistics: written (as format version 2) only when every tree has them.

use edgewood_core::{EncodeError, Model, NodeStats};

use crate::hostile::sample_ensemble as sample_forest;

#[test]
fn a_model_without_stats_stays_version_1() {
    let ensemble = sample_forest();
    let bytes = ensemble.encode().unwrap();
    let model = Model::open_validated(&bytes).unwrap();
    assert_eq!(model.format_version(), 1);
    assert!(!model.has_cover());
}

#[test]
fn covers_make_version_2_and_predict_the_same() {
    let plain = sample_forest();
    let mut ensemble = plain.clone();
    for tree in &mut ensemble.trees {
        let n = tree.nodes.len();
        tree.stats = Some(NodeStats {
            cover: (0..n).map(|i| (n - i) as f64).collect(),
            leaf_ids: Vec::new(),
        });
    }
    let bytes = ensemble.encode().unwrap();
    let model = Model::open_validated(&bytes).unwrap();
    assert_eq!(model.format_version(), 2);
    assert!(model.has_cover());
    let old = plain.encode().unwrap();
    let old = Model::open(&old).unwrap();
    for row in [[1.0, 0.5], [3.0, 0.5], [3.0, 1.0], [f64::NAN, f64::NAN]] {
        assert_eq!(model.predict(&row).unwrap(), old.predict(&row).unwrap());
    }
    // Cut inside §11: the section no longer fits.
    let stats_at = u32::from_le_bytes(bytes[92..96].try_into().unwrap()) as usize;
    let mut cut = bytes.clone();
    cut[8..12].copy_from_slice(&(stats_at as u32 + 8).to_le_bytes());
    assert!(Model::open(&cut[..stats_at + 8]).is_err());
    // One tree without statistics: none are written.
    ensemble.trees[1].stats = None;
    assert_eq!(
        Model::open(&ensemble.encode().unwrap())
            .unwrap()
            .format_version(),
        1
    );
}

#[test]
fn statistics_need_one_entry_per_node() {
    let mut ensemble = sample_forest();
    ensemble.trees[0].stats = Some(NodeStats {
        cover: vec![1.0; 2],
        leaf_ids: Vec::new(),
    });
    assert!(matches!(
        ensemble.encode(),
        Err(EncodeError::StatsLength { tree: 0, .. })
    ));
}
