//! The EQ/NEQ expansion: a tree with equality splits written as `<=` splits, each set
//! test a search over its members' point regions, shared subtrees copied, within the
//! model's [`Budget`] (see the module doc of `onnx`).

use std::collections::HashMap;
use std::fmt;

use edgewood_core::{f32_at_or_below, next_down_f32, Node};

use super::{OnnxError, EXPANSION, EXPANSION_EXTRA};

pub(super) fn is_equality(mode: &str) -> bool {
    mode == "BRANCH_EQ" || mode == "BRANCH_NEQ"
}

/// The node arrays of the ensemble, for building trees node by node.
pub(super) struct Graph<'a> {
    pub(super) tree_ids: &'a [i64],
    pub(super) node_ids: &'a [i64],
    pub(super) feature_ids: &'a [i64],
    pub(super) values: &'a [f64],
    pub(super) modes: &'a [String],
    pub(super) true_ids: &'a [i64],
    pub(super) false_ids: &'a [i64],
    pub(super) tracks_true: Option<&'a [i64]>,
    pub(super) n_features: usize,
    /// (tree id, node id) → index in the arrays.
    pub(super) at: HashMap<(i64, i64), usize>,
    pub(super) leaf: &'a HashMap<(i64, i64), Vec<f64>>,
    pub(super) n_outputs: usize,
}

/// Nodes the EQ/NEQ expansion may still write, over the whole model.
pub(super) struct Budget {
    pub(super) left: usize,
    pub(super) limit: usize,
}

/// An equality test, as a partition of the float32 line into regions: region `i`
/// ends at `bounds[i]` (inclusive; the last region is unbounded), and goes to the
/// "in" subtree (a member of the set) when `inside[i]`.
struct SetTest {
    feature: u32,
    bounds: Vec<f32>,
    inside: Vec<bool>,
    on_in: usize,
    on_out: usize,
    nan_in: bool,
}

/// What [`Graph::expand`] still has to write; its position goes to `parent`.
enum Work {
    /// The subtree of node `k`, reached at `depth` file nodes from the root.
    Node { k: usize, depth: usize },
    /// Regions `lo..=hi` of set test `set`.
    Regions {
        set: usize,
        lo: usize,
        hi: usize,
        depth: usize,
    },
}

impl Graph<'_> {
    fn err(&self, k: usize, reason: impl fmt::Display) -> OnnxError {
        OnnxError::Attribute {
            name: "nodes_modes".into(),
            reason: format!(
                "tree {} node {}: {reason}",
                self.tree_ids[k], self.node_ids[k]
            ),
        }
    }

    /// Node `k`'s child (true or false), as an index in the arrays.
    pub(super) fn child(&self, k: usize, true_side: bool) -> Result<usize, OnnxError> {
        let c = if true_side {
            self.true_ids[k]
        } else {
            self.false_ids[k]
        };
        self.at
            .get(&(self.tree_ids[k], c))
            .copied()
            .ok_or_else(|| OnnxError::Attribute {
                name: "nodes_truenodeids".into(),
                reason: format!(
                    "tree {} node {}: child {c} does not exist",
                    self.tree_ids[k], self.node_ids[k]
                ),
            })
    }

    pub(super) fn feature(&self, k: usize) -> Result<u32, OnnxError> {
        u32::try_from(self.feature_ids[k])
            .ok()
            .filter(|&f| (f as usize) < self.n_features)
            .ok_or_else(|| OnnxError::Attribute {
                name: "nodes_featureids".into(),
                reason: format!(
                    "tree {} node {}: feature {} of {}",
                    self.tree_ids[k], self.node_ids[k], self.feature_ids[k], self.n_features
                ),
            })
    }

    pub(super) fn tracks(&self, k: usize) -> bool {
        self.tracks_true.is_some_and(|t| t.get(k) == Some(&1))
    }

    /// An inequality mode as "x <= threshold goes left" on the float32 input, and
    /// whether left is the true branch.
    pub(super) fn inequality(&self, k: usize) -> Result<(f64, bool), OnnxError> {
        let t = self.values[k];
        Ok(match self.modes[k].as_str() {
            "BRANCH_LEQ" => (t, true),
            "BRANCH_LT" => (strictly_below(t), true),
            "BRANCH_GT" => (t, false),
            "BRANCH_GTE" => (strictly_below(t), false),
            other => return Err(self.err(k, format!("mode {other} is not supported"))),
        })
    }

    /// The set test that starts at equality node `k` and how many file nodes it spans.
    fn set_test(&self, k: usize, tree_len: usize) -> Result<(SetTest, usize), OnnxError> {
        let feature = self.feature(k)?;
        let eq = self.modes[k] == "BRANCH_EQ";
        let mut members = vec![self.values[k]];
        let mut nan_in = eq && self.tracks(k);
        let mut last = k;
        if eq {
            // onnxmltools' chain: EQ nodes on one feature, each false child the next,
            // all sharing one true child. NaN reaches the true child at the first
            // node that tracks it, so it is "in" when any node does.
            let on_in = self.child(k, true)?;
            let mut seen = std::collections::HashSet::from([k]);
            loop {
                let next = self.child(last, false)?;
                if self.modes[next] != "BRANCH_EQ"
                    || self.feature_ids[next] != self.feature_ids[k]
                    || self.child(next, true)? != on_in
                    || !seen.insert(next)
                {
                    break;
                }
                if seen.len() > tree_len {
                    return Err(self.err(k, "a cycle through equality nodes"));
                }
                members.push(self.values[next]);
                nan_in |= self.tracks(next);
                last = next;
            }
        }
        let span = members.len();
        // EQ: members go to the true child, the rest (after the chain) to the last
        // node's false child. NEQ: members (x == t) go to the false child, and NaN,
        // for which `!=` holds, to the true child.
        let (on_in, on_out) = if eq {
            (self.child(k, true)?, self.child(last, false)?)
        } else {
            (self.child(k, false)?, self.child(k, true)?)
        };
        // Only a float32 value can equal a float32 input; -0.0 equals 0.0.
        let mut points: Vec<f32> = members
            .iter()
            .filter(|&&t| (t as f32) as f64 == t)
            .map(|&t| if t == 0.0 { 0.0 } else { t as f32 })
            .collect();
        points.sort_by(f32::total_cmp);
        points.dedup();
        let (mut bounds, mut inside) = (Vec::new(), Vec::new());
        let mut push = |bound: f32, is_in: bool| {
            if let Some(&b) = bounds.last() {
                if bound <= b {
                    return; // an empty region
                }
            }
            if inside.last() == Some(&is_in) {
                *bounds.last_mut().unwrap() = bound;
            } else {
                bounds.push(bound);
                inside.push(is_in);
            }
        };
        for &p in &points {
            if p != f32::NEG_INFINITY {
                push(next_down_f32(p), false);
            }
            push(p, true);
        }
        // The last region runs to +inf (and holds nothing when +inf is a member).
        if points.last() != Some(&f32::INFINITY) {
            push(f32::INFINITY, false);
        }
        // Only NaN goes past +inf: a region of its own when no region is its side.
        if !inside.contains(&nan_in) {
            bounds.push(f32::INFINITY);
            inside.push(nan_in);
        }
        Ok((
            SetTest {
                feature,
                bounds,
                inside,
                on_in,
                on_out,
                nan_in,
            },
            span,
        ))
    }

    /// Writes the tree rooted at `root` (with `tree_len` file nodes) as an arena,
    /// expanding equality tests, copying shared subtrees, and refusing cycles and
    /// anything past the budget.
    pub(super) fn expand(
        &self,
        root: usize,
        tree_len: usize,
        budget: &mut Budget,
    ) -> Result<Vec<Node>, OnnxError> {
        let mut x = Expansion {
            out: Vec::new(),
            sets: Vec::new(),
            known: HashMap::new(),
            stack: vec![(Work::Node { k: root, depth: 1 }, None)],
        };
        while let Some((work, parent)) = x.stack.pop() {
            let node = match work {
                Work::Node { k, depth } => self.file_node(&mut x, k, depth, tree_len, parent)?,
                Work::Regions { set, lo, hi, depth } => x.regions(set, lo, hi, depth, parent),
            };
            if let Some(node) = node {
                x.emit(node, parent, budget)?;
            }
        }
        Ok(x.out)
    }

    /// File node `k`, reached at `depth`: a leaf, or a split whose children are queued;
    /// `None` when an equality test's regions are queued in its place.
    fn file_node(
        &self,
        x: &mut Expansion,
        k: usize,
        depth: usize,
        tree_len: usize,
        parent: Option<(usize, bool)>,
    ) -> Result<Option<Node>, OnnxError> {
        // A path longer than the tree repeats a node: a cycle.
        if depth > tree_len {
            return Err(self.err(k, "the tree has a cycle"));
        }
        let key = (self.tree_ids[k], self.node_ids[k]);
        let mode = self.modes[k].as_str();
        if mode == "LEAF" {
            return Ok(Some(Node::Leaf(
                self.leaf
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| vec![0.0; self.n_outputs]),
            )));
        }
        if is_equality(mode) {
            // Built once per node however often copies reach it, so a long chain
            // costs its length once, not once per copy.
            let (set, span) = match x.known.get(&k) {
                Some(&found) => found,
                None => {
                    let (set, span) = self.set_test(k, tree_len)?;
                    x.sets.push(set);
                    x.known.insert(k, (x.sets.len() - 1, span));
                    (x.sets.len() - 1, span)
                }
            };
            let work = Work::Regions {
                set,
                lo: 0,
                hi: x.sets[set].inside.len() - 1,
                depth: depth + span - 1,
            };
            // Written in place of node k: same parent slot.
            x.stack.push((work, parent));
            return Ok(None);
        }
        let at = x.out.len();
        let feature = self.feature(k)?;
        let (threshold, left_is_true) = self.inequality(k)?;
        let (t, f) = (self.child(k, true)?, self.child(k, false)?);
        let (l, r) = if left_is_true { (t, f) } else { (f, t) };
        x.stack.push((
            Work::Node {
                k: r,
                depth: depth + 1,
            },
            Some((at, false)),
        ));
        x.stack.push((
            Work::Node {
                k: l,
                depth: depth + 1,
            },
            Some((at, true)),
        ));
        Ok(Some(Node::Split {
            feature,
            threshold,
            missing_left: self.tracks(k) == left_is_true,
            left: u32::MAX,
            right: u32::MAX,
        }))
    }
}

/// One tree's expansion in progress.
struct Expansion {
    /// The arena written so far.
    out: Vec<Node>,
    /// The set tests built so far.
    sets: Vec<SetTest>,
    /// Equality node → its set test in `sets` and the file nodes the test spans.
    known: HashMap<usize, (usize, usize)>,
    /// Work still to do, and the (split, is-left) slot its position goes to.
    stack: Vec<(Work, Option<(usize, bool)>)>,
}

impl Expansion {
    /// Regions `lo..=hi` of set test `set`: a split at the middle bound whose halves
    /// are queued, or, for one region, its subtree queued in this slot (`None`).
    fn regions(
        &mut self,
        set: usize,
        lo: usize,
        hi: usize,
        depth: usize,
        parent: Option<(usize, bool)>,
    ) -> Option<Node> {
        let s = &self.sets[set];
        if lo == hi {
            let k = if s.inside[lo] { s.on_in } else { s.on_out };
            self.stack.push((
                Work::Node {
                    k,
                    depth: depth + 1,
                },
                parent,
            ));
            return None;
        }
        let at = self.out.len();
        let mid = (lo + hi) / 2;
        // NaN fails every `<=`: send it toward a region of its side.
        let missing_left = s.inside[lo..=mid].contains(&s.nan_in);
        let node = Node::Split {
            feature: s.feature,
            threshold: s.bounds[mid] as f64,
            missing_left,
            left: u32::MAX,
            right: u32::MAX,
        };
        let (l, r) = (
            Work::Regions {
                set,
                lo,
                hi: mid,
                depth,
            },
            Work::Regions {
                set,
                lo: mid + 1,
                hi,
                depth,
            },
        );
        self.stack.push((r, Some((at, false))));
        self.stack.push((l, Some((at, true))));
        Some(node)
    }

    /// Writes `node` at the end of the arena, charged to `budget`, and points its
    /// parent's slot at it.
    fn emit(
        &mut self,
        node: Node,
        parent: Option<(usize, bool)>,
        budget: &mut Budget,
    ) -> Result<(), OnnxError> {
        let at = self.out.len() as u32;
        let cost = match &node {
            Node::Leaf(v) => v.len().max(1),
            _ => 1,
        };
        if budget.left < cost {
            return Err(OnnxError::Attribute {
                name: "nodes_modes".into(),
                reason: format!(
                    "expanding BRANCH_EQ/BRANCH_NEQ splits (and shared subtrees) needs more than {} node values ({EXPANSION} × the file's + {EXPANSION_EXTRA}): refused",
                    budget.limit
                ),
            });
        }
        budget.left -= cost;
        self.out.push(node);
        if let Some((p, is_left)) = parent {
            if let Node::Split { left, right, .. } = &mut self.out[p] {
                *(if is_left { left } else { right }) = at;
            }
        }
        Ok(())
    }
}

/// The largest float32 strictly below `t` (for `x < t` on a float32 input).
fn strictly_below(t: f64) -> f64 {
    let d = f32_at_or_below(t);
    if d as f64 == t {
        next_down_f32(d) as f64
    } else {
        d as f64
    }
}
