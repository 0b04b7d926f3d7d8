//! File plumbing shared by the subcommands: `-` for stdin/stdout, atomic writes,
//! and the one float format every output uses.
//!
//! Floats are written in their *shortest round-trip* form (the `ryu` algorithm, the
//! same digits Python's `repr` chooses): parsing the text back gives the very same
//! f64 bits, which is what the parity tests compare.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use anyhow::Context;

/// Where input comes from: a file, or stdin when the path is `-`.
pub enum Input {
    /// Standard input.
    Stdin,
    /// A file, with its size for the progress bar.
    File(File, u64),
}

impl Input {
    /// Opens `path`, or stdin for `-`.
    pub fn open(path: &Path) -> anyhow::Result<Input> {
        if path.as_os_str() == "-" {
            return Ok(Input::Stdin);
        }
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Input::File(file, size))
    }

    /// The input's size in bytes, when known.
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::Stdin => None,
            Input::File(_, size) => Some(*size),
        }
    }

    /// The input as a reader.
    pub fn into_reader(self) -> Box<dyn Read> {
        match self {
            Input::Stdin => Box::new(std::io::stdin().lock()),
            Input::File(file, _) => Box::new(file),
        }
    }
}

/// How a path is named in messages: `<stdin>`/`<stdout>` for `-`.
pub fn display_name(path: &Path, dash: &str) -> String {
    if path.as_os_str() == "-" {
        dash.to_string()
    } else {
        path.display().to_string()
    }
}

/// Writes to `path` (or stdout for `-`) through `write` (a `Send` writer, as the
/// Parquet writer needs).
///
/// A file is written to a temporary file beside it and renamed into place only
/// when `write` succeeded, so a failed or interrupted run never leaves half a file
/// (nor destroys an older complete one). A device or a pipe is written directly.
pub fn write_output<T>(
    path: &Path,
    write: impl FnOnce(&mut (dyn Write + Send)) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if path.as_os_str() == "-" {
        // Not a `StdoutLock`, which cannot move between threads: each write of the
        // buffer locks stdout once.
        let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout());
        let value = write(&mut out)?;
        out.flush()?;
        return Ok(value);
    }
    // A device or a pipe (`-o /dev/null`, a FIFO) is written into: renaming a file over
    // it would replace it (as root, `/dev/null` itself).
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let value = write(&mut out)?;
        out.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        return Ok(value);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut builder = tempfile::Builder::new();
    // A temporary file is private (0600); the output is an ordinary file, readable by
    // whoever deploys it (0644 before the umask, as `>` would create it).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let tmp = builder
        .prefix(".edgewood-")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    let syncing = Syncing::new(tmp).with_context(|| format!("cannot write {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 16, syncing);
    let value = write(&mut out)?;
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    let tmp = out
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(Syncing::finish)
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(value)
}

/// Bytes written between two flushes to disk in the background.
const SYNC_BYTES: u64 = 4 << 20;

/// A temporary file being written, flushed to disk in the background as it grows.
///
/// The output is made durable (synced) before it is renamed into place, so that a
/// crash never leaves a renamed but empty file. Synced only at the end, a large output
/// waited for all of it: 13 ms for the 23 MB of the 1M-row bench, a twentieth of the
/// run. A helper thread syncs every [`SYNC_BYTES`] while the output is written, and the
/// last sync finds little left.
struct Syncing {
    file: tempfile::NamedTempFile,
    written: u64,
    /// Asks the helper thread for a sync (one request waits at most; more are
    /// dropped, as that one covers them).
    kick: Option<mpsc::SyncSender<()>>,
    helper: Option<JoinHandle<std::io::Result<()>>>,
}

impl Syncing {
    fn new(file: tempfile::NamedTempFile) -> std::io::Result<Syncing> {
        let handle = file.as_file().try_clone()?;
        let (kick, kicked) = mpsc::sync_channel::<()>(1);
        let helper = std::thread::Builder::new()
            .name("edgewood-sync".into())
            .spawn(move || {
                for () in kicked {
                    handle.sync_data()?;
                }
                Ok(())
            })?;
        Ok(Syncing {
            file,
            written: 0,
            kick: Some(kick),
            helper: Some(helper),
        })
    }

    /// Stops the helper, syncs what is left and returns the file.
    fn finish(mut self) -> std::io::Result<tempfile::NamedTempFile> {
        drop(self.kick.take());
        if let Some(helper) = self.helper.take() {
            helper
                .join()
                .map_err(|_| std::io::Error::other("the syncing thread panicked"))??;
        }
        self.file.as_file().sync_all()?;
        Ok(self.file)
    }
}

impl Write for Syncing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        let before = self.written;
        self.written += n as u64;
        if before / SYNC_BYTES != self.written / SYNC_BYTES {
            if let Some(kick) = &self.kick {
                // Full: a sync is asked for already.
                let _ = kick.try_send(());
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Formats `x` in shortest round-trip form (`0.97`, `1.0`, `1e-7`, `NaN`).
pub fn fmt_f64(buf: &mut ryu::Buffer, x: f64) -> &str {
    buf.format(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_output_is_whole_after_background_syncs() {
        // Past several SYNC_BYTES, in writes of odd sizes across the thresholds.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let data: Vec<u8> = (0..(3 * SYNC_BYTES + 12_345))
            .map(|i| (i % 251) as u8)
            .collect();
        let n = write_output(&path, |out| {
            for piece in data.chunks(1_000_003) {
                out.write_all(piece)?;
            }
            Ok(data.len())
        })
        .unwrap();
        assert_eq!(n, data.len());
        assert!(std::fs::read(&path).unwrap() == data);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn floats_round_trip() {
        let mut buf = ryu::Buffer::new();
        for x in [
            0.97,
            1.0,
            0.0,
            1e-7,
            1.0 / 3.0,
            2.0f64.powi(-1074),
            f64::MAX,
            -0.1,
        ] {
            let s = fmt_f64(&mut buf, x).to_string();
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), x.to_bits(), "{s}");
        }
        assert_eq!(fmt_f64(&mut buf, 0.97), "0.97");
        assert_eq!(fmt_f64(&mut buf, 1.0), "1.0");
    }
}
