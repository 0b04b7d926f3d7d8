//! `cargo xtask bench-predict`: the CLI's main job at scale. A 1M-row Iris CSV through
//! `edgewood predict` (release build, the embedded Iris model, `--threads 2`) and
//! through pandas `read_csv` + the seed's RandomForest `predict_proba` (`n_jobs=-1`) +
//! `to_csv` (`bench/predict_peers.py`), in one run: seconds, the ratio, peak RSS of
//! both, and whether the two output files are the same bytes. `--parquet`: the same
//! rows as a Parquet file (pandas `read_parquet` on the peer's side). `--parquet-out`:
//! both write Parquet (pandas `to_parquet`), and pyarrow reads both files back to
//! compare every label and float.
//!
//! Not a test: timings on a shared machine are noisy, so each side runs several times
//! (medians) and the load average is printed beside them. The peer runs in
//! `bench/.venv` with pinned versions (created or completed here). Peak RSS of
//! `edgewood` comes from GNU time (`/usr/bin/time`), when the machine has it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::peers;
use crate::util::{self, cargo, root};

/// Versions the peer is measured with.
const PINS: &[(&str, &str, &str)] = &[
    ("scikit-learn", "sklearn", "1.9.1"),
    ("pandas", "pandas", "3.1.1"),
];

/// pyarrow, for `--parquet` (pandas' Parquet engine).
const PARQUET_PIN: (&str, &str, &str) = ("pyarrow", "pyarrow", "26.0.1");

/// The goal of issue 16: `edgewood predict` at least this many times faster.
const GOAL: f64 = 15.0;

/// Arguments of `cargo xtask bench-predict`.
#[derive(clap::Args)]
pub struct Args {
    /// Rows in the CSV.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// `edgewood predict --threads N`.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Runs of each side (the medians are compared).
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Only `edgewood predict` (no Python peer).
    #[arg(long)]
    native_only: bool,
    /// Read the rows as Parquet (pyarrow writes the file from the CSV; pandas reads it
    /// with read_parquet).
    #[arg(long)]
    parquet: bool,
    /// Write the predictions as Parquet (`-o edgewood.parquet`; pandas `to_parquet`).
    #[arg(long)]
    parquet_out: bool,
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = root().join("target/bench/predict");
    std::fs::create_dir_all(&dir)?;
    let csv = write_csv(&dir, args.rows)?;
    util::run(cargo().args(["build", "--release", "-p", "edgewood"]))?;
    let exe = root().join("target/release/edgewood");
    let parquet = args
        .parquet
        .then(|| dir.join(format!("iris_{}.parquet", args.rows)));
    // With --parquet the peer runs first: it writes the Parquet file.
    let peer = match (&parquet, args.native_only) {
        (_, true) => None,
        (None, false) => Some(run_peer(&args, &dir, &csv, None)?),
        (Some(p), false) => Some(run_peer(&args, &dir, &csv, Some(p))?),
    };
    let input = parquet.as_deref().unwrap_or(&csv);
    anyhow::ensure!(
        input.exists(),
        "{} is written by the peer: run without --native-only once",
        input.display()
    );

    let ours_out = dir.join(if args.parquet_out {
        "edgewood.parquet"
    } else {
        "edgewood.csv"
    });
    let mut ours = Vec::new();
    for _ in 0..args.repeats {
        ours.push(time_edgewood(&exe, input, &ours_out, args.threads)?);
    }
    let load_ours = util::load_average();
    let secs: Vec<f64> = ours.iter().map(|r| r.0).collect();
    let rss: Vec<Option<u64>> = ours.iter().map(|r| r.1).collect();
    let ours_s = median(&secs);
    println!(
        "\n{} rows ({} MB of {}) to {}, edgewood predict --threads {}, load average \
         {load_ours}",
        args.rows,
        std::fs::metadata(input)?.len() >> 20,
        if args.parquet { "Parquet" } else { "CSV" },
        if args.parquet_out { "Parquet" } else { "CSV" },
        args.threads
    );
    println!(
        "edgewood: {ours_s:.3} s median of {:?} ({:.2}M rows/s); peak RSS {}",
        rounded(&secs),
        args.rows as f64 / ours_s / 1e6,
        show_rss(rss.iter().flatten().max().copied())
    );
    let Some((peer, load_peer, peer_out)) = peer else {
        return Ok(());
    };
    let total = peers::num(&peer, "total_s");
    let read = if args.parquet { "read_parquet" } else { "read_csv" };
    let write = if args.parquet_out {
        "to_parquet"
    } else {
        "to_csv"
    };
    println!(
        "pandas {} + scikit-learn {} (n_jobs=-1): {total:.3} s median ({read} {:.3} s, \
         predict_proba {:.3} s, {write} {:.3} s); peak RSS {}; load average {load_peer}",
        peer["pandas"].as_str().unwrap_or("?"),
        peer["sklearn"].as_str().unwrap_or("?"),
        peers::num(&peer, "read_s"),
        peers::num(&peer, "predict_s"),
        peers::num(&peer, "write_s"),
        show_rss(peer["peak_rss_kb"].as_u64()),
    );
    let same = if args.parquet_out {
        compare_parquet(&ours_out, &peer_out)?
    } else {
        compare(&ours_out, &peer_out)?
    };
    println!("outputs: {same}");
    let ratio = total / ours_s;
    println!(
        "goal: ≥{GOAL}× pandas + scikit-learn: {ratio:.1}× — {} ({read} + predict_proba \
         alone: {:.1}×)",
        if ratio >= GOAL { "met" } else { "NOT met" },
        (peers::num(&peer, "read_s") + peers::num(&peer, "predict_s")) / ours_s,
    );
    Ok(())
}

/// Times the peer (`bench/predict_peers.py`) on `csv`, or on `parquet` (which it
/// writes from `csv` when absent); returns its JSON report, the load average after
/// it and the file it wrote its predictions to.
fn run_peer(
    args: &Args,
    dir: &Path,
    csv: &Path,
    parquet: Option<&Path>,
) -> anyhow::Result<(serde_json::Value, f64, PathBuf)> {
    let python = if parquet.is_some() || args.parquet_out {
        peers::venv(&[PINS, &[PARQUET_PIN]].concat())?
    } else {
        peers::venv(PINS)?
    };
    let peer_out = dir.join(if args.parquet_out {
        "pandas.parquet"
    } else {
        "pandas.csv"
    });
    eprintln!("timing pandas + scikit-learn ...");
    let mut cmd = Command::new(&python);
    cmd.arg(root().join("bench/predict_peers.py"))
        .arg("--csv")
        .arg(csv)
        .arg("--model")
        .arg(root().join("tests/fixtures/iris_rf100.joblib"))
        .arg("--out")
        .arg(&peer_out)
        .arg("--repeats")
        .arg(args.repeats.to_string());
    if let Some(p) = parquet {
        cmd.arg("--parquet").arg(p);
    }
    if args.parquet_out {
        cmd.arg("--parquet-out");
    }
    let out = util::output(&mut cmd)?;
    let peer = peers::last_json(&out).context("bench/predict_peers.py printed no JSON")?;
    Ok((peer, util::load_average(), peer_out))
}

/// The input: `rows` deterministic Iris-like rows (those of `cargo xtask bench`), one
/// decimal each, under a header naming the features. Written once per row count.
fn write_csv(dir: &Path, rows: usize) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    let path = dir.join(format!("iris_{rows}.csv"));
    if path.exists() {
        return Ok(path);
    }
    let tmp = dir.join(format!("iris_{rows}.csv.tmp"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    writeln!(out, "sepal_length,sepal_width,petal_length,petal_width")?;
    for [a, b, c, d] in crate::bench::iris_rows(rows) {
        writeln!(out, "{a:.1},{b:.1},{c:.1},{d:.1}")?;
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// One run of `edgewood predict`: wall seconds and peak RSS in kilobytes (None without
/// GNU time).
fn time_edgewood(
    exe: &Path,
    csv: &Path,
    out: &Path,
    threads: usize,
) -> anyhow::Result<(f64, Option<u64>)> {
    util::run_measured(
        Command::new(exe)
            .arg("predict")
            .arg(csv)
            .arg("--threads")
            .arg(threads.to_string())
            .arg("-o")
            .arg(out),
    )
}

/// Whether two prediction files agree: the same bytes, else the same labels and
/// probability bits on every row (shortest round-trip text parses back to the bits),
/// else the first row that differs.
fn compare(ours: &Path, peer: &Path) -> anyhow::Result<String> {
    let (a, b) = (std::fs::read(ours)?, std::fs::read(peer)?);
    if a == b {
        return Ok(format!("the same {} bytes", a.len()));
    }
    let (a, b) = (String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
    let (mut la, mut lb) = (a.lines(), b.lines());
    let mut n = 0usize;
    loop {
        match (la.next(), lb.next()) {
            (None, None) => break,
            (Some(x), Some(y)) if n == 0 || same_row(x, y) => n += 1,
            (x, y) => anyhow::bail!(
                "the outputs DIFFER at line {}: edgewood {:?}, pandas {:?}",
                n + 1,
                x.unwrap_or("<end>"),
                y.unwrap_or("<end>")
            ),
        }
    }
    Ok(format!(
        "the same labels and probability bits on all {} rows (the text differs)",
        n - 1
    ))
}

/// Whether two Parquet outputs hold the same column names, labels and floats (by
/// `repr`, the shortest text that gives the float's bits back), as pyarrow
/// (`bench/.venv`) reads them: a reader Edgewood did not write.
fn compare_parquet(ours: &Path, peer: &Path) -> anyhow::Result<String> {
    let script = "import sys, pyarrow.parquet as pq\n\
        a, b = pq.read_table(sys.argv[1]), pq.read_table(sys.argv[2])\n\
        assert a.column_names == b.column_names, (a.column_names, b.column_names)\n\
        assert a.num_rows == b.num_rows, (a.num_rows, b.num_rows)\n\
        for name in a.column_names:\n\
        \x20   x, y = a.column(name).to_pylist(), b.column(name).to_pylist()\n\
        \x20   bad = next((i for i, (p, q) in enumerate(zip(x, y)) if repr(p) != repr(q)), None)\n\
        \x20   assert bad is None, f'{name}, row {bad}: {x[bad]!r} vs {y[bad]!r}'\n\
        print(f'pyarrow reads the same {a.num_rows} rows of {a.num_columns} columns \
        from both ({a.schema.types} / {b.schema.types})')\n";
    let python = root().join("bench/.venv/bin/python");
    let out = util::output(Command::new(python).arg("-c").arg(script).arg(ours).arg(peer))
        .context("the Parquet outputs DIFFER")?;
    Ok(out.trim().to_string())
}

/// Whether two output lines hold the same label and the same float bits.
fn same_row(x: &str, y: &str) -> bool {
    let (fx, fy): (Vec<&str>, Vec<&str>) = (x.split(',').collect(), y.split(',').collect());
    fx.len() == fy.len()
        && fx[0] == fy[0]
        && fx[1..].iter().zip(&fy[1..]).all(|(p, q)| {
            matches!((p.parse::<f64>(), q.parse::<f64>()), (Ok(p), Ok(q)) if p.to_bits() == q.to_bits())
        })
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn rounded(xs: &[f64]) -> Vec<f64> {
    xs.iter().map(|x| (x * 1000.0).round() / 1000.0).collect()
}

fn show_rss(kb: Option<u64>) -> String {
    kb.map_or("? (no /usr/bin/time)".into(), |kb| {
        format!("{:.1} MB", kb as f64 / 1024.0)
    })
}
