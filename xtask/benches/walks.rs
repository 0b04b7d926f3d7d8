//! Where the interval-mask and complete-tree walks beat the node walk: synthetic
//! forests of the shapes the libraries make by default (scikit-learn's depth-3
//! boosting, XGBoost's depth 6 and 8, LightGBM's 31 leaves, a forest like the Iris
//! one), each predicted through the walk `PreparedModel` chooses and through the node
//! walk on the same rows, checked bit for bit, as one table. What it measures is the
//! rules the walks are taken by (interval masks: at most 64 leaves a tree, 16
//! features with splits, 1 MiB of masks; complete trees: AVX-512 or AVX2, trees at
//! most 10 deep, 8 for float64 thresholds, half full; complete tops before the node
//! walk: deeper trees whose tops are half full 4 levels down on average): every
//! shape here that a rule lets in should be faster through its walk.
//!
//! Run through `cargo bench -p xtask --bench walks [-- --smoke]`. Not a test.

mod common;

use common::median;
use std::hint::black_box;
use std::time::Instant;

use edgewood_core::{
    Aggregation, Comparison, Ensemble, Feature, Link, Model, Node, PreparedModel, Task, Tree,
};

/// A deterministic generator (SplitMix64): the same forests every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A forest shape: trees, most leaves a tree, features, distinct thresholds per
/// feature (histogram bins).
struct Shape {
    name: &'static str,
    trees: usize,
    leaves: usize,
    features: usize,
    bins: u64,
    /// float64 thresholds (scikit-learn's, LightGBM's), else float32.
    wide: bool,
    /// The deepest a leaf may be (the libraries' `max_depth`), if bounded.
    max_depth: Option<u32>,
}

/// A random tree of at most `leaves` leaves: leaves above `max_depth` split at
/// random until there are that many, each split on a random feature at one of
/// `bins` thresholds.
fn tree(shape: &Shape, random: &mut Random) -> Tree {
    let mut nodes = vec![Node::Leaf(vec![0.0])];
    // Leaves that may split, with their depths; `leaves` counts every leaf.
    let mut open = vec![(0usize, 0u32)];
    let mut leaves = 1;
    while leaves < shape.leaves && !open.is_empty() {
        let (i, depth) = open.swap_remove(random.below(open.len() as u64) as usize);
        let left = nodes.len() as u32;
        nodes.push(Node::Leaf(vec![
            (random.below(2000) as f64 - 1000.0) / 4096.0,
        ]));
        nodes.push(Node::Leaf(vec![
            (random.below(2000) as f64 - 1000.0) / 4096.0,
        ]));
        nodes[i] = Node::Split {
            feature: random.below(shape.features as u64) as u32,
            threshold: (random.below(shape.bins) as f64 + 0.5) / shape.bins as f64,
            missing_left: random.below(2) == 0,
            left,
            right: left + 1,
        };
        leaves += 1;
        if shape.max_depth.is_none_or(|max| depth + 1 < max) {
            open.extend([(left as usize, depth + 1), (left as usize + 1, depth + 1)]);
        }
    }
    Tree {
        output: 0,
        nodes,
        stats: None,
    }
}

fn forest(shape: &Shape, seed: u64) -> Ensemble {
    let mut random = Random(seed);
    Ensemble {
        features: (0..shape.features)
            .map(|i| Feature {
                allow_missing: true,
                ..Feature::named(format!("f{i}"))
            })
            .collect(),
        task: Task::Regression,
        // A random forest averages its trees; the boosting libraries sum theirs.
        aggregation: if shape.name.starts_with("random forest") {
            Aggregation::Average
        } else {
            Aggregation::Sum {
                base: vec![0.5],
                link: Link::Identity,
                accumulate_f32: false,
                divide_by_rounds: false,
            }
        },
        comparison: if shape.wide {
            Comparison::F64LessEqual
        } else {
            Comparison::F32LessEqual
        },
        leaf_width: 1,
        trees: (0..shape.trees).map(|_| tree(shape, &mut random)).collect(),
        source: shape.name.into(),
    }
}

/// (single-row ns, batch rows/s) of `prepared` over `rows`, and its predictions.
fn time(prepared: &PreparedModel, rows: &[f64], nf: usize, reps: usize) -> (f64, f64, Vec<f64>) {
    let n = rows.len() / nf;
    let mut out = vec![0.0; n];
    let (mut single, mut batch) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let t = Instant::now();
        for (r, o) in rows.chunks_exact(nf).zip(out.chunks_exact_mut(1)) {
            prepared.predict_into(black_box(r), o).unwrap();
        }
        single.push(t.elapsed().as_nanos() as f64 / n as f64);
        let t = Instant::now();
        prepared.predict_batch(black_box(rows), &mut out).unwrap();
        black_box(&out);
        batch.push(n as f64 / t.elapsed().as_secs_f64());
    }
    (median(single), median(batch), out)
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let (n, reps) = if smoke { (500, 1) } else { (10_000, 7) };
    let shapes = [
        Shape {
            name: "Iris-like forest",
            trees: 100,
            leaves: 10,
            features: 4,
            bins: 40,
            wide: false,
            max_depth: None,
        },
        Shape {
            name: "scikit-learn GB, depth 3",
            trees: 300,
            leaves: 8,
            features: 10,
            bins: 255,
            wide: true,
            max_depth: Some(3),
        },
        Shape {
            name: "XGBoost depth 6",
            trees: 100,
            leaves: 64,
            features: 4,
            bins: 256,
            wide: false,
            max_depth: Some(6),
        },
        Shape {
            name: "XGBoost depth 6, 8 features",
            trees: 100,
            leaves: 64,
            features: 8,
            bins: 64,
            wide: false,
            max_depth: Some(6),
        },
        Shape {
            name: "LightGBM 31 leaves",
            trees: 100,
            leaves: 31,
            features: 8,
            bins: 64,
            wide: false,
            max_depth: None,
        },
        Shape {
            name: "LightGBM 31 leaves, 16 features",
            trees: 300,
            leaves: 31,
            features: 16,
            bins: 16,
            wide: false,
            max_depth: None,
        },
        Shape {
            name: "XGBoost depth 8, 50 features",
            trees: 300,
            leaves: 160,
            features: 50,
            bins: 256,
            wide: false,
            max_depth: Some(8),
        },
        Shape {
            name: "LightGBM max_depth 7, 50 features",
            trees: 300,
            leaves: 100,
            features: 50,
            bins: 255,
            wide: true,
            max_depth: Some(7),
        },
        Shape {
            name: "LightGBM 255 leaves, 50 features",
            trees: 300,
            leaves: 255,
            features: 50,
            bins: 255,
            wide: true,
            max_depth: None,
        },
        Shape {
            name: "random forest, 1000 leaves, 20 features",
            trees: 100,
            leaves: 1000,
            features: 20,
            bins: 1000,
            wide: true,
            max_depth: None,
        },
    ];
    println!(
        "{:<46} {:>10} {:>12} {:>12} {:>11} {:>11} {:>8} {:>8}",
        "forest (trees x leaves, features)",
        "walk",
        "nodes 1 row",
        "chosen 1 row",
        "nodes r/s",
        "chosen r/s",
        "1 row x",
        "batch x"
    );
    for shape in &shapes {
        let ensemble = forest(shape, 7);
        let bytes = ensemble.encode().unwrap();
        let model = Model::open_validated(&bytes).unwrap();
        let mut random = Random(11);
        let rows: Vec<f64> = (0..n * shape.features)
            .map(|_| {
                if random.below(50) == 0 {
                    f64::NAN
                } else {
                    random.below(1 << 20) as f64 / (1 << 20) as f64
                }
            })
            .collect();
        let chosen = PreparedModel::new(model).unwrap();
        let nodes = PreparedModel::new_node_walk(model).unwrap();
        let (ns, nb, expected) = time(&nodes, &rows, shape.features, reps);
        let (cs, cb, got) = time(&chosen, &rows, shape.features, reps);
        assert!(
            got.iter()
                .zip(&expected)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{}: the walks differ",
            shape.name
        );
        println!(
            "{:<46} {:>10} {:>9.0} ns {:>9.0} ns {:>10.2}M {:>10.2}M {:>7.2}x {:>7.2}x",
            format!(
                "{} ({}x{}, {})",
                shape.name, shape.trees, shape.leaves, shape.features
            ),
            if chosen.is_intervals() {
                "masks"
            } else if chosen.is_complete() {
                "complete"
            } else if chosen.has_complete_tops() {
                "tops+nodes"
            } else {
                "nodes"
            },
            ns,
            cs,
            nb / 1e6,
            cb / 1e6,
            ns / cs,
            cb / nb
        );
    }
}
