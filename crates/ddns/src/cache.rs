//! The last accepted update, kept in a file so that a restart of the daemon does not
//! send it again: the protocol treats repeated updates that change nothing (`nochg`) as
//! abuse, and a camera may restart often (power cuts, a new configuration).
//!
//! One line, tab-separated: update URL, host name, the `myip` sent (`-` for none), the
//! time of the answer in seconds since 1970, and the answer (`good 81.2.69.160`). No
//! password. Written whole by a rename; anything unreadable is ignored (then the camera
//! simply updates, as without a cache).

use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::answer::Answer;

/// An accepted update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) url: String,
    pub(crate) host_name: String,
    pub(crate) myip: Option<Ipv4Addr>,
    pub(crate) at: SystemTime,
    pub(crate) answer: Answer,
}

/// The file holding the last accepted update.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    path: PathBuf,
}

impl Cache {
    pub(crate) fn new(path: PathBuf) -> Self {
        Cache { path }
    }

    /// The stored entry, if there is a readable one.
    pub(crate) fn load(&self) -> Option<Entry> {
        let text = fs::read_to_string(&self.path).ok()?;
        let mut fields = text.trim_end_matches('\n').split('\t');
        let url = fields.next()?.to_owned();
        let host_name = fields.next()?.to_owned();
        let myip = match fields.next()? {
            "-" => None,
            ip => Some(ip.parse().ok()?),
        };
        let secs: u64 = fields.next()?.parse().ok()?;
        let answer = Answer::parse(200, fields.next()?)?;
        if fields.next().is_some() {
            return None;
        }
        Some(Entry {
            url,
            host_name,
            myip,
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
            answer,
        })
    }

    /// Replaces the stored entry.
    pub(crate) fn store(&self, entry: &Entry) -> io::Result<()> {
        let secs = entry
            .at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let myip = entry
            .myip
            .map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        let line = format!(
            "{}\t{}\t{myip}\t{secs}\t{}\n",
            entry.url, entry.host_name, entry.answer
        );
        let mut temp = self.path.clone().into_os_string();
        temp.push(".tmp");
        fs::write(&temp, line)?;
        fs::rename(&temp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_and_a_damaged_file_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = Cache::new(dir.path().join("ddns-last-update"));
        assert_eq!(cache.load(), None, "no file yet");
        let entry = Entry {
            url: "https://members.dyndns.org/nic/update".into(),
            host_name: "cam.example.org".into(),
            myip: Some(Ipv4Addr::new(81, 2, 69, 160)),
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_800_000),
            answer: Answer::Good("81.2.69.160".parse().ok()),
        };
        cache.store(&entry).expect("store");
        assert_eq!(cache.load(), Some(entry.clone()));
        let behind_nat = Entry {
            myip: None,
            answer: Answer::NoChange(None),
            ..entry
        };
        cache.store(&behind_nat).expect("store");
        assert_eq!(cache.load(), Some(behind_nat));
        fs::write(dir.path().join("ddns-last-update"), "torn\tline").expect("write");
        assert_eq!(cache.load(), None);
    }
}
