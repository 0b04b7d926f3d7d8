//! LightGBM text models with one field wrong: children out of range, cycles,
//! mismatched lengths, absurd sizes, truncations and byte flips.

use edgewood_import::lightgbm;

use super::flips;
use crate::common::fixtures;

fn lgbm_text(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap()
}

/// Replaces the value of `key=` in the first tree block.
fn set_tree0(text: &str, key: &str, value: &str) -> String {
    let start = text.find("Tree=0").unwrap();
    let at = start + text[start..].find(&format!("\n{key}=")).unwrap() + 1;
    let end = at + text[at..].find('\n').unwrap();
    format!("{}{key}={value}{}", &text[..at], &text[end..])
}

fn tree0_field(text: &str, key: &str) -> Vec<String> {
    let start = text.find("Tree=0").unwrap();
    let at = start + text[start..].find(&format!("\n{key}=")).unwrap() + key.len() + 2;
    let end = at + text[at..].find('\n').unwrap();
    text[at..end].split(' ').map(str::to_string).collect()
}

fn lgbm_err(text: &str) -> String {
    match lightgbm::read(text.as_bytes()) {
        Ok(_) => panic!("a malformed LightGBM model was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn lightgbm_child_out_of_range() {
    let text = lgbm_text("lgbm_binary.txt");
    let mut left = tree0_field(&text, "left_child");
    left[0] = "4096".into();
    let e = lgbm_err(&set_tree0(&text, "left_child", &left.join(" ")));
    assert!(e.contains("Tree=0") && e.contains("4096"), "{e}");
}

#[test]
fn lightgbm_cycle() {
    let text = lgbm_text("lgbm_binary.txt");
    let mut right = tree0_field(&text, "right_child");
    let mut left = tree0_field(&text, "left_child");
    // Node 1 points at itself: LightGBM 4.7 loops forever here.
    left[1] = "1".into();
    right[1] = "1".into();
    let text = set_tree0(&text, "left_child", &left.join(" "));
    let e = lgbm_err(&set_tree0(&text, "right_child", &right.join(" ")));
    assert!(e.contains("reached twice"), "{e}");
}

/// Issue 13 item 4: the root pointing at itself.
#[test]
fn lightgbm_root_self_loop() {
    let text = lgbm_text("lgbm_binary.txt");
    let mut right = tree0_field(&text, "right_child");
    right[0] = "0".into();
    let e = lgbm_err(&set_tree0(&text, "right_child", &right.join(" ")));
    assert!(e.contains("node 0: child 0 out of range"), "{e}");
}

#[test]
fn lightgbm_mismatched_lengths() {
    let text = lgbm_text("lgbm_binary.txt");
    let mut th = tree0_field(&text, "threshold");
    th.pop();
    let e = lgbm_err(&set_tree0(&text, "threshold", &th.join(" ")));
    assert!(e.contains("threshold has"), "{e}");
}

#[test]
fn lightgbm_absurd_sizes() {
    let text = lgbm_text("lgbm_binary.txt");
    let e = lgbm_err(&set_tree0(&text, "num_leaves", "4000000000"));
    assert!(e.contains("num_leaves"), "{e}");
    let text = lgbm_text("lgbm_categorical.txt");
    let e = lgbm_err(&set_tree0(&text, "cat_boundaries", "0 99999999"));
    assert!(e.contains("cat_boundaries"), "{e}");
}

#[test]
fn lightgbm_truncations_and_flips_never_panic() {
    let bytes = lgbm_text("lgbm_categorical.txt").into_bytes();
    let step = (bytes.len() / 300).max(1);
    // A cut anywhere before `end of trees` (even between two trees) is refused.
    let end = String::from_utf8_lossy(&bytes)
        .find("end of trees")
        .unwrap();
    for cut in (0..end).step_by(step) {
        assert!(
            lightgbm::read(&bytes[..cut]).is_err(),
            "cut {cut} was accepted"
        );
    }
    flips(&bytes, 300, |b| match lightgbm::read(b) {
        Ok(e) => {
            let ewm = e.encode().unwrap();
            let m = edgewood_core::Model::open_validated(&ewm).unwrap();
            m.predict(&vec![f64::NAN; m.n_features()]).unwrap();
            true
        }
        Err(_) => false,
    });
}
