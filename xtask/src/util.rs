//! Helpers shared by the subcommands: running commands, locating the workspace.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Runs `cmd` in the workspace root, echoing it, and fails if it fails.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    eprintln!("$ {}", show(cmd));
    let status = cmd
        .status()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", show(cmd)))?;
    anyhow::ensure!(status.success(), "command failed ({status}): {}", show(cmd));
    Ok(())
}

/// Runs `cmd` in the workspace root and returns its stdout; fails if it fails.
pub fn output(cmd: &mut Command) -> anyhow::Result<String> {
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    let out = cmd
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", show(cmd)))?;
    anyhow::ensure!(
        out.status.success(),
        "command failed ({}): {}\n{}",
        out.status,
        show(cmd),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A command line as a person would type it.
pub fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// The space left on the workspace's file system, as `df -h` shows it: printed after
/// each step, because a CI run that fills its disk fails in whatever step comes next.
fn free_disk() -> Option<String> {
    let out = Command::new("df")
        .args(["-h", "--output=avail"])
        .arg(root())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().nth(1).map(|l| l.trim().to_string())
}

/// `cargo`, the same one that runs xtask.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Whether this runs in CI (`CI=true`), for steps that must behave differently there.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// One named step of an ordered list (`setup`, `test`).
pub struct Step {
    /// What the step does, as printed.
    pub name: &'static str,
    /// The step itself.
    pub run: fn() -> anyhow::Result<()>,
}

/// Runs `steps` in order, printing each name and its duration; stops at the first
/// failure, naming the step.
pub fn run_steps(list: &str, steps: &[Step], skip: &[String]) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    for (i, step) in steps.iter().enumerate() {
        if skip.iter().any(|s| step.name.contains(s.as_str())) {
            eprintln!(
                "==> {list} {}/{}: {} (skipped)",
                i + 1,
                steps.len(),
                step.name
            );
            continue;
        }
        eprintln!("==> {list} {}/{}: {}", i + 1, steps.len(), step.name);
        let t = std::time::Instant::now();
        (step.run)().map_err(|e| anyhow::anyhow!("{list} step '{}' failed: {e:#}", step.name))?;
        eprintln!(
            "<== {} ({:.1} s{})",
            step.name,
            t.elapsed().as_secs_f64(),
            free_disk()
                .map(|f| format!(", {f} free"))
                .unwrap_or_default()
        );
    }
    eprintln!(
        "{list}: all {} steps passed in {:.0} s",
        steps.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The 1-minute load average (`/proc/loadavg`), NaN where there is none: every
/// benchmark prints it beside its figures.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Runs `cmd` in the workspace root under GNU time (`/usr/bin/time`, where the machine
/// has it, else as it is) and fails if it fails: its wall seconds and its peak resident
/// memory in kilobytes (None without GNU time). What the benchmarks' memory figures
/// are read from: the whole process, as a user's shell would see it.
pub fn run_measured(cmd: &Command) -> anyhow::Result<(f64, Option<u64>)> {
    let gnu_time = std::path::Path::new("/usr/bin/time");
    let rss_file = root().join("target/peak-rss.txt");
    let _ = std::fs::remove_file(&rss_file);
    let mut measured = if gnu_time.exists() {
        let mut m = Command::new(gnu_time);
        m.args(["-f", "%M", "-o"])
            .arg(&rss_file)
            .arg(cmd.get_program());
        m
    } else {
        Command::new(cmd.get_program())
    };
    measured.args(cmd.get_args()).current_dir(root());
    eprintln!("$ {}", show(cmd));
    let started = std::time::Instant::now();
    let status = measured
        .status()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", show(cmd)))?;
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(status.success(), "command failed ({status}): {}", show(cmd));
    let kb = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|t| t.trim().parse().ok());
    Ok((secs, kb))
}
