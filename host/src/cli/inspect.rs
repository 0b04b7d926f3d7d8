//! `edgewood inspect`: what a model is — kind, aggregation, size, schema — as text
//! for people or as JSON (`--json`) for scripts. Both print the same facts.

use std::io::Write;
use std::path::PathBuf;

use edgewood_core::{Model, TaskKind};
use serde_json::{json, Value};

use super::load::{load, ImportArgs};

/// Arguments of `edgewood inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The model: an .ewm file or a source format (converted in memory).
    /// Without it, the embedded Iris model.
    model: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    import: ImportArgs,
}

/// Runs `edgewood inspect`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let loaded = load(args.model.as_deref(), &args.import)?;
    let model = loaded.model()?;
    let facts = describe(&model, &loaded.name, loaded.converted_from.as_deref());
    let text = if args.json {
        serde_json::to_string_pretty(&facts)? + "\n"
    } else {
        text(&facts)
    };
    // A write error (a closed pipe: `edgewood inspect | head`) is returned, not a panic.
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn range(r: Option<(f64, f64)>) -> Value {
    match r {
        Some((min, max)) => json!([min, max]),
        None => Value::Null,
    }
}

/// The facts about a model, as the JSON document `--json` prints.
fn describe(model: &Model<'_>, name: &str, converted_from: Option<&str>) -> Value {
    let features: Vec<Value> = (0..model.n_features())
        .map(|i| {
            json!({
                "name": model.feature_name(i),
                "valid_range": range(model.valid_range(i)),
                "train_range": range(model.train_range(i)),
                "allow_missing": model.allows_missing(i),
            })
        })
        .collect();
    let classes = match model.task() {
        TaskKind::Classification => Value::from(
            (0..model.n_classes())
                .map(|c| model.class_label(c))
                .collect::<Vec<_>>(),
        ),
        TaskKind::Regression => Value::Null,
    };
    let aggregation = match model.boosting_link() {
        None => json!({ "type": "average" }),
        Some(link) => json!({ "type": "boosting", "link": link.to_string() }),
    };
    let bytes = model.as_bytes().len();
    let splits = model.n_split_nodes();
    json!({
        "model": name,
        "converted_from": converted_from,
        "format_version": model.format_version(),
        "kind": match model.task() {
            TaskKind::Classification => "classification",
            TaskKind::Regression => "regression",
        },
        "aggregation": aggregation,
        "source": model.source(),
        "trees": model.n_trees(),
        "split_nodes": splits,
        "leaves": model.n_leaves(),
        "max_depth": model.max_depth(),
        "features": features,
        "classes": classes,
        "integer_labels": model.integer_labels(),
        "bytes": bytes,
        "node_bytes": model.node_bytes(),
        // Whole file over split nodes: what one split costs, leaves and schema included.
        "bytes_per_split_node": if splits == 0 { Value::Null } else {
            json!(((bytes as f64 / splits as f64) * 100.0).round() / 100.0)
        },
    })
}

fn fmt_range(v: &Value) -> String {
    match v.as_array() {
        Some(a) if a.len() == 2 => format!("{} .. {}", a[0], a[1]),
        _ => "-".to_string(),
    }
}

/// The text form of [`describe`]'s document.
fn text(f: &Value) -> String {
    let s = |k: &str| match &f[k] {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<14}{v}\n"));
    let model = match f["converted_from"].as_str() {
        Some(from) => format!("{} (converted from {from} in memory)", s("model")),
        None => s("model"),
    };
    line("model", model);
    line("source", s("source"));
    let kind = match f["classes"].as_array() {
        Some(c) => format!("classification, {} classes", c.len()),
        None => "regression".to_string(),
    };
    line("kind", kind);
    let agg = match f["aggregation"]["link"].as_str() {
        Some(link) => format!("boosting (sum of trees, {link} link)"),
        None => "average of trees".to_string(),
    };
    line("aggregation", agg);
    line("trees", s("trees"));
    line("split nodes", s("split_nodes"));
    line("leaves", s("leaves"));
    line("max depth", s("max_depth"));
    // A model of single-leaf trees (one class, say) has no bytes per split node.
    let per_split = match f["bytes_per_split_node"].is_null() {
        true => String::new(),
        false => format!(", {} bytes per split node", s("bytes_per_split_node")),
    };
    line(
        "size",
        format!(
            "{} bytes, format v{} ({} bytes of split nodes{per_split})",
            s("bytes"),
            s("format_version"),
            s("node_bytes"),
        ),
    );
    let features = f["features"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!("features      {}\n", features.len()));
    let width = features
        .iter()
        .filter_map(|x| x["name"].as_str())
        .map(str::len)
        .max()
        .unwrap_or(4)
        .max(4);
    out.push_str(&format!(
        "  {:<width$}  {:<22}  {:<22}  missing\n",
        "name", "valid range", "training range"
    ));
    for x in &features {
        out.push_str(&format!(
            "  {:<width$}  {:<22}  {:<22}  {}\n",
            x["name"].as_str().unwrap_or("?"),
            fmt_range(&x["valid_range"]),
            fmt_range(&x["train_range"]),
            if x["allow_missing"] == true {
                "allowed"
            } else {
                "refused"
            },
        ));
    }
    if let Some(classes) = f["classes"].as_array() {
        let names: Vec<&str> = classes.iter().filter_map(Value::as_str).collect();
        let ints = if f["integer_labels"] == true {
            " (integer labels)"
        } else {
            ""
        };
        out.push_str(&format!("classes       {}{ints}\n", names.join(", ")));
    }
    out
}
