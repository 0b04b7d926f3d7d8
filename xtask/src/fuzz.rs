//! `cargo xtask fuzz [TARGET] [--minutes N]`: real fuzzing with libFuzzer (cargo-fuzz),
//! one target after another, each in fork mode so that it keeps going after a finding,
//! then a table of runs, coverage and findings. Not a test and not in CI: a fuzz run
//! explores for as long as it is given; `cargo test` replays the seeds (see
//! `fuzz/README.md`).
//!
//! cargo-fuzz needs nightly compiler flags: it runs on the nightly toolchain when rustup
//! has one, else on this toolchain with `RUSTC_BOOTSTRAP=1`. Corpora grow in
//! `fuzz/corpus/<target>/` (ignored by git), seeded from `fuzz/seeds/<target>/`;
//! findings land in `fuzz/artifacts/<target>/`, libFuzzer's output in `fuzz/logs/`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use anyhow::{bail, Context};

use crate::util::{cargo, root, show};

/// The cargo-fuzz release this is written against.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Arguments of `cargo xtask fuzz`.
#[derive(clap::Args)]
pub struct Args {
    /// One target (a file stem of `fuzz/fuzz_targets/`); every target when left out.
    target: Option<String>,
    /// Minutes of fuzzing per target.
    #[arg(long, default_value_t = 5.0)]
    minutes: f64,
    /// Longest input libFuzzer makes, in bytes.
    #[arg(long, default_value_t = 65_536)]
    max_len: usize,
    /// Seconds one input may take before it counts as a finding (a hang).
    #[arg(long, default_value_t = 30)]
    timeout: u32,
}

/// What one target's run gave.
struct Outcome {
    target: String,
    /// Inputs executed (libFuzzer's `#N`).
    runs: u64,
    /// Coverage: edges reached (libFuzzer's `cov:`).
    cov: u64,
    /// Finding files written during this run.
    findings: Vec<PathBuf>,
    /// Slow units (libFuzzer's `slow-unit-*`: over 10 s once) that replayed fast:
    /// their path and replay time in ms. Not findings, but printed.
    slow_not_reproduced: Vec<(PathBuf, u64)>,
}

/// A slow unit that replays alone in less than this many milliseconds was slow only
/// because the machine was busy (libFuzzer saves any unit that once took 10 s of wall
/// time; a niced fuzzer on a loaded machine can wait that long for a core).
const SLOW_REPLAY_MS: u64 = 1_000;

/// Builds every requested target, fuzzes each for `--minutes`, prints the table; fails
/// when anything was found.
pub fn run(args: Args) -> anyhow::Result<()> {
    let fuzz_dir = root().join("fuzz");
    let all = targets(&fuzz_dir)?;
    let chosen = match &args.target {
        Some(t) if all.contains(t) => vec![t.clone()],
        Some(t) => bail!("no fuzz target '{t}'; the targets are {}", all.join(", ")),
        None => all,
    };
    ensure_cargo_fuzz()?;
    for target in &chosen {
        crate::util::run(cargo_fuzz(&fuzz_dir).args(["build", "-O", target]))?;
    }
    let mut outcomes = Vec::new();
    for target in &chosen {
        outcomes.push(fuzz_one(&fuzz_dir, target, &args)?);
    }
    print_table(&outcomes);
    let found: usize = outcomes.iter().map(|o| o.findings.len()).sum();
    if found > 0 {
        bail!(
            "{found} finding(s): reproduce one with `cargo fuzz run -O TARGET PATH` in \
             fuzz/ (see fuzz/README.md)"
        );
    }
    Ok(())
}

/// The fuzz targets: the file stems of `fuzz/fuzz_targets/*.rs`, sorted.
fn targets(fuzz_dir: &Path) -> anyhow::Result<Vec<String>> {
    let dir = fuzz_dir.join("fuzz_targets");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| dir.display().to_string())? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            if let Some(stem) = path.file_stem() {
                out.push(stem.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Installs cargo-fuzz [`CARGO_FUZZ_VERSION`] when `cargo fuzz` is missing.
fn ensure_cargo_fuzz() -> anyhow::Result<()> {
    let version = cargo().args(["fuzz", "--version"]).output();
    match version {
        Ok(out) if out.status.success() => {
            let v = String::from_utf8_lossy(&out.stdout);
            if !v.contains(CARGO_FUZZ_VERSION) {
                eprintln!(
                    "note: {} found, this was written against cargo-fuzz {CARGO_FUZZ_VERSION}",
                    v.trim()
                );
            }
            Ok(())
        }
        _ => crate::util::run(cargo().args([
            "install",
            "cargo-fuzz",
            "--version",
            CARGO_FUZZ_VERSION,
            "--locked",
        ])),
    }
}

/// Whether rustup has a nightly toolchain.
fn has_nightly() -> bool {
    Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("nightly"))
}

/// `cargo fuzz` in `fuzz/`: on nightly when rustup has it, else with `RUSTC_BOOTSTRAP=1`.
fn cargo_fuzz(fuzz_dir: &Path) -> Command {
    let mut cmd = if has_nightly() {
        // rustup's `cargo` proxy, which reads `+nightly` (the `CARGO` xtask runs under
        // is a toolchain's own binary, which does not).
        let mut c = Command::new("cargo");
        c.arg("+nightly");
        c
    } else {
        let mut c = cargo();
        c.env("RUSTC_BOOTSTRAP", "1");
        c
    };
    cmd.arg("fuzz").current_dir(fuzz_dir);
    cmd
}

/// Fuzzes `target` for `args.minutes` in fork mode, echoing libFuzzer's status lines and
/// keeping its whole output in `fuzz/logs/<target>.log`.
fn fuzz_one(fuzz_dir: &Path, target: &str, args: &Args) -> anyhow::Result<Outcome> {
    let corpus = fuzz_dir.join("corpus").join(target);
    let seeds = fuzz_dir.join("seeds").join(target);
    let artifacts = fuzz_dir.join("artifacts").join(target);
    let logs = fuzz_dir.join("logs");
    for dir in [&corpus, &artifacts, &logs] {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    let seconds = (args.minutes * 60.0).round().max(1.0) as u64;
    let mut cmd = cargo_fuzz(fuzz_dir);
    cmd.args(["run", "-O", target])
        .arg(&corpus)
        .arg(&seeds)
        .arg("--")
        // One child process at a time (the machine is shared); a finding is saved and
        // the run goes on.
        .args(["-fork=1", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"])
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-max_len={}", args.max_len))
        .arg(format!("-timeout={}", args.timeout))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    eprintln!("==> fuzz {target} for {seconds} s\n$ {}", show(&cmd));
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", show(&cmd)))?;
    let log_path = logs.join(format!("{target}.log"));
    let mut log = std::fs::File::create(&log_path)?;
    let (mut runs, mut cov) = (0, 0);
    let stderr = child.stderr.take().context("libFuzzer's stderr")?;
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        writeln!(log, "{line}")?;
        if let Some((r, c)) = status_line(&line) {
            runs = runs.max(r);
            cov = cov.max(c);
            eprintln!("{target} {:>5.0} s: {line}", clock.elapsed().as_secs_f64());
        } else if line.contains("ERROR:") || line.contains("panicked at") {
            eprintln!("{target}: {line}");
        }
    }
    let status = child.wait()?;
    let mut findings = findings_since(&artifacts, started)?;
    if !status.success() && findings.is_empty() {
        bail!(
            "{target}: libFuzzer stopped ({status}) with no finding; see {}",
            log_path.display()
        );
    }
    // A slow unit counts only if it is slow alone.
    let mut slow_not_reproduced = Vec::new();
    let mut kept = Vec::new();
    for f in findings.drain(..) {
        let slow = f
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("slow-unit-"));
        match slow.then(|| replay_ms(fuzz_dir, target, &f)).flatten() {
            Some(ms) if ms < SLOW_REPLAY_MS => slow_not_reproduced.push((f, ms)),
            _ => kept.push(f),
        }
    }
    Ok(Outcome {
        target: target.to_string(),
        runs,
        cov,
        findings: kept,
        slow_not_reproduced,
    })
}

/// Runs `target` once on `input` and reads libFuzzer's "Executed … in N ms".
fn replay_ms(fuzz_dir: &Path, target: &str, input: &Path) -> Option<u64> {
    let out = cargo_fuzz(fuzz_dir)
        .args(["run", "-O", target])
        .arg(input)
        .output()
        .ok()?;
    executed_ms(&String::from_utf8_lossy(&out.stderr))
}

/// The N of libFuzzer's `Executed PATH in N ms` line.
fn executed_ms(log: &str) -> Option<u64> {
    log.lines()
        .find(|l| l.starts_with("Executed "))?
        .rsplit(" in ")
        .next()?
        .strip_suffix(" ms")?
        .parse()
        .ok()
}

/// The runs (`#N`) and coverage (`cov: N`) of a libFuzzer status line, in either of its
/// forms: `#N<TAB>NEW cov: …` (one process) or `#N: cov: … job: …` (fork mode).
fn status_line(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix('#')?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let runs = digits.parse().ok()?;
    let mut words = rest.split_whitespace();
    words.find(|&w| w == "cov:")?;
    let cov = words.next()?.parse().ok()?;
    Some((runs, cov))
}

/// The finding files (`crash-*`, `timeout-*`, `oom-*`, `leak-*`, `slow-unit-*`) in
/// `dir` written since `since`, sorted.
fn findings_since(dir: &Path, since: SystemTime) -> anyhow::Result<Vec<PathBuf>> {
    const KINDS: [&str; 5] = ["crash-", "timeout-", "oom-", "leak-", "slow-unit-"];
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let new = entry.metadata()?.modified()? >= since;
        if new && KINDS.iter().any(|k| name.starts_with(k)) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// The closing table: one line per target, then each finding's path.
fn print_table(outcomes: &[Outcome]) {
    let base = root();
    println!(
        "\n| target | runs | coverage (edges) | findings |\n|---|---:|---:|---:|"
    );
    for o in outcomes {
        println!(
            "| {} | {} | {} | {} |",
            o.target,
            o.runs,
            o.cov,
            o.findings.len()
        );
    }
    for o in outcomes {
        for f in &o.findings {
            println!("{}: {}", o.target, f.strip_prefix(&base).unwrap_or(f).display());
        }
        for (f, ms) in &o.slow_not_reproduced {
            println!(
                "{}: {} was saved as slow but replays in {ms} ms alone (the machine was busy); not a finding",
                o.target,
                f.strip_prefix(&base).unwrap_or(f).display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{executed_ms, status_line};

    #[test]
    fn reads_the_replay_time() {
        let log = "INFO: Running with entropic power schedule (0xFF, 100).\n\
                   Running: fuzz/artifacts/x/slow-unit-038c\n\
                   Executed fuzz/artifacts/x/slow-unit-038c in 16 ms\n\
                   ***\n";
        assert_eq!(executed_ms(log), Some(16));
        assert_eq!(executed_ms("Running: a\n"), None);
    }

    #[test]
    fn reads_both_kinds_of_status_line() {
        assert_eq!(
            status_line("#123456\tNEW    cov: 5170 ft: 9001 corp: 310/44Kb lim: 4096 exec/s: 1300"),
            Some((123456, 5170))
        );
        assert_eq!(
            status_line(
                "#2080000: cov: 1877 ft: 4512 corp: 803 exec/s: 34666 oom/timeout/crash: 0/0/0 \
                 time: 60s job: 12 dft_time: 0"
            ),
            Some((2_080_000, 1877))
        );
        assert_eq!(status_line("INFO: Seed: 42"), None);
        assert_eq!(status_line("#1 INITED exec/s: 0 rss: 30Mb"), None);
    }
}
