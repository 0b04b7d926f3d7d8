//! Where the components' log lines go: gathered in memory per request, written to
//! stderr by one thread in batches.

use std::sync::Arc;
use std::time::Duration;

/// The components' log lines on their way to stderr.
///
/// Each request's stderr is collected in memory and appended here, whole, when the
/// request ends; a thread writes what has gathered every [`LOG_FLUSH`]. Measured
/// before: with stderr inherited, every guest write was a system call under std's
/// stderr lock (10% of a request's time), and waking a writer thread for every line
/// cost as much. Now a request only appends to a buffer, a request's lines stay
/// together, and one `write` carries all the lines of 10 ms.
pub(super) struct Log {
    pending: std::sync::Mutex<Vec<u8>>,
}

/// How often [`Log`] is written out: the most a log line waits.
const LOG_FLUSH: Duration = Duration::from_millis(10);

/// Most bytes waiting: beyond this (stderr blocked), lines are dropped, not queued.
const LOG_MAX_PENDING: usize = 16 << 20;

impl Log {
    /// Starts the writer thread.
    pub(super) fn start() -> Arc<Log> {
        let log = Arc::new(Log {
            pending: std::sync::Mutex::new(Vec::new()),
        });
        let writer = log.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(LOG_FLUSH);
            writer.flush();
        });
        log
    }

    pub(super) fn push(&self, lines: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.len() + lines.len() <= LOG_MAX_PENDING {
            pending.extend_from_slice(lines);
        }
    }

    /// Writes what is pending (also called once more at shutdown).
    pub(super) fn flush(&self) {
        use std::io::Write as _;
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if !batch.is_empty() {
            // A closed stderr is no reason to stop serving.
            let _ = std::io::stderr().write_all(&batch);
        }
    }
}
