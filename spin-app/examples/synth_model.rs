//! Writes a large synthetic model for the load benchmark: a binary classifier of
//! 200 full trees of depth 12 over 50 features (about 1.6 million nodes), the size of
//! the "RF200 depth 12, 50 features" peer in the benchmarks.
//!
//! `cargo run -p edgewood-spin --example synth_model -- OUT.ewm [TREES] [DEPTH] [FEATURES]`
//!
//! The splits and leaves come from a fixed-seed generator, so every run writes the same
//! bytes. Features are named `f0`…`f49`, each valid in 0–10.

use edgewood_core::{Aggregation, Comparison, Ensemble, Feature, Node, Task, Tree};

/// SplitMix64: a tiny, good, reproducible generator (no dependency needed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A full tree of `depth` levels of splits, in pre-order (root first, left subtree next).
fn tree(rng: &mut Rng, depth: u32, features: u32) -> Tree {
    let mut nodes = Vec::with_capacity((1 << (depth + 1)) - 1);
    fn grow(nodes: &mut Vec<Node>, rng: &mut Rng, level: u32, depth: u32, features: u32) -> u32 {
        let me = nodes.len() as u32;
        if level == depth {
            let p = rng.unit();
            nodes.push(Node::Leaf(vec![1.0 - p, p]));
            return me;
        }
        nodes.push(Node::Leaf(Vec::new())); // replaced below once the children exist
        let feature = (rng.next() % features as u64) as u32;
        let threshold = edgewood_core::f32_at_or_below(1.0 + 8.0 * rng.unit()) as f64;
        let left = grow(nodes, rng, level + 1, depth, features);
        let right = grow(nodes, rng, level + 1, depth, features);
        nodes[me as usize] = Node::Split {
            feature,
            threshold,
            missing_left: false,
            left,
            right,
        };
        me
    }
    grow(&mut nodes, rng, 0, depth, features);
    Tree {
        nodes,
        output: 0,
        stats: None,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: synth_model OUT.ewm [TREES=200] [DEPTH=12] [FEATURES=50]");
        std::process::exit(2);
    };
    let arg = |i: usize, default: u32| {
        args.get(i)
            .map_or(default, |a| a.parse().expect("a number"))
    };
    let (n_trees, depth, n_features) = (arg(1, 200), arg(2, 12), arg(3, 50));
    let mut rng = Rng(0x5eed_ed9e_0000_0001);
    let ensemble = Ensemble {
        features: (0..n_features)
            .map(|i| Feature {
                valid_range: Some((0.0, 10.0)),
                ..Feature::named(format!("f{i}"))
            })
            .collect(),
        task: Task::Classification {
            classes: vec!["negative".into(), "positive".into()],
            integer_labels: false,
        },
        aggregation: Aggregation::Average,
        comparison: Comparison::F32LessEqual,
        leaf_width: 2,
        trees: (0..n_trees)
            .map(|_| tree(&mut rng, depth, n_features))
            .collect(),
        source: format!("synthetic: {n_trees} trees of depth {depth}, {n_features} features"),
    };
    let bytes = ensemble.encode().expect("the synthetic model encodes");
    std::fs::write(out, &bytes).expect("cannot write the model");
    eprintln!(
        "wrote {out}: {} bytes, {n_trees} trees of depth {depth}, {n_features} features",
        bytes.len()
    );
}
