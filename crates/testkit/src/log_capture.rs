//! The process's log records, kept for tests that check what a worker logged: one line
//! per failure episode, a line on recovery, and never a secret. The logger is
//! process-wide, so a test binary installs it once ([`capture`]) and its tests share it.

use std::sync::{Mutex, Once};

use log::{Level, Log, Metadata, Record};

/// Keeps every record whose target starts with the prefix given to [`capture`].
struct Capture {
    lines: Mutex<Vec<(Level, String)>>,
    prefix: Mutex<&'static str>,
}

impl Log for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let prefix = *self.prefix.lock().unwrap_or_else(|e| e.into_inner());
        metadata.target().starts_with(prefix)
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{}: {}", record.target(), record.args());
            self.lines
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((record.level(), line));
        }
    }

    fn flush(&self) {}
}

static LOG: Capture = Capture {
    lines: Mutex::new(Vec::new()),
    prefix: Mutex::new(""),
};
static INSTALLED: Once = Once::new();

/// Installs the capturing logger at trace level for records whose target starts with
/// `target_prefix` (`""`: all); later calls keep the first logger.
pub fn capture(target_prefix: &'static str) {
    INSTALLED.call_once(|| {
        *LOG.prefix.lock().unwrap_or_else(|e| e.into_inner()) = target_prefix;
        log::set_logger(&LOG).expect("the first logger of this test binary");
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// Captured lines (`target: message`) at `level` containing every one of `words`.
pub fn count(level: Level, words: &[&str]) -> usize {
    LOG.lines
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(l, line)| *l == level && words.iter().all(|w| line.contains(w)))
        .count()
}

/// Every captured line, at any level, holding `text` (a secret that must not be there).
pub fn lines_with(text: &str) -> Vec<String> {
    LOG.lines
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(_, line)| line.contains(text))
        .map(|(_, line)| line.clone())
        .collect()
}
