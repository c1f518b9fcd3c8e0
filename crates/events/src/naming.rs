//! File names of uploaded frames, per file mode of `/upload.cgi`.
//!
//! - Overwrite (0): `<base>.jpg`, every upload replaces the last one.
//! - Date/time (1): `<base>YYYYMMDD_HHMMSS.jpg` in the camera's local time; a second file
//!   in the same second (1–3 frames per second) gets `_1`, `_2`... before `.jpg`, so no
//!   upload overwrites another.
//! - Sequence (2): `<base>0001.jpg`, `<base>0002.jpg`... up to the maximum, then `0001`
//!   again. Numbers have four digits, or five when the maximum has five; the count starts
//!   at 1 when the daemon starts and whenever the base name or maximum changes. A number
//!   is used up only by an upload that succeeded: a retry reuses it.

use chrono::{NaiveDateTime, Timelike};

use crate::settings::{FileMode, FileNaming};

/// Hands out the file names of one kind of upload (scheduled or manual).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNamer {
    naming: FileNaming,
    next_sequence: u16,
    last_stamp: Option<NaiveDateTime>,
    same_second: u32,
}

impl FileNamer {
    /// A namer starting from sequence number 1.
    pub fn new(naming: FileNaming) -> Self {
        FileNamer {
            naming,
            next_sequence: 1,
            last_stamp: None,
            same_second: 0,
        }
    }

    /// Takes new settings, keeping the count if neither base nor mode changed.
    pub fn configure(&mut self, naming: FileNaming) {
        if naming != self.naming {
            *self = FileNamer::new(naming);
        }
    }

    /// The name for an upload at local time `at`. Call [`FileNamer::commit`] once the
    /// upload has succeeded.
    pub fn name(&self, at: NaiveDateTime) -> String {
        let base = &self.naming.base;
        match self.naming.mode {
            FileMode::Overwrite => format!("{base}.jpg"),
            FileMode::DateTime => {
                let stamp = at.format("%Y%m%d_%H%M%S");
                match self.repeat_in(at) {
                    0 => format!("{base}{stamp}.jpg"),
                    n => format!("{base}{stamp}_{n}.jpg"),
                }
            }
            FileMode::Sequence { max } => {
                let width = if max >= 10_000 { 5 } else { 4 };
                format!("{base}{:0width$}.jpg", self.next_sequence)
            }
        }
    }

    /// Records that the name for `at` was used.
    pub fn commit(&mut self, at: NaiveDateTime) {
        match self.naming.mode {
            FileMode::Overwrite => {}
            FileMode::DateTime => {
                self.same_second = self.repeat_in(at) + 1;
                self.last_stamp = Some(whole_second(at));
            }
            FileMode::Sequence { max } => {
                self.next_sequence = if self.next_sequence >= max {
                    1
                } else {
                    self.next_sequence + 1
                };
            }
        }
    }

    /// How many names were already used in the second of `at`.
    fn repeat_in(&self, at: NaiveDateTime) -> u32 {
        if self.last_stamp == Some(whole_second(at)) {
            self.same_second
        } else {
            0
        }
    }
}

fn whole_second(at: NaiveDateTime) -> NaiveDateTime {
    at.with_nanosecond(0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveDate};

    use super::*;

    fn at(h: u32, m: u32, s: u32, ms: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 3, 9)
            .and_then(|d| d.and_hms_opt(h, m, s))
            .expect("valid")
            + Duration::milliseconds(ms)
    }

    fn namer(base: &str, mode: FileMode) -> FileNamer {
        FileNamer::new(FileNaming {
            base: base.into(),
            mode,
        })
    }

    fn use_name(namer: &mut FileNamer, when: NaiveDateTime) -> String {
        let name = namer.name(when);
        namer.commit(when);
        name
    }

    #[test]
    fn overwrite_always_uses_the_base_name() {
        let mut n = namer("door", FileMode::Overwrite);
        assert_eq!(use_name(&mut n, at(1, 2, 3, 0)), "door.jpg");
        assert_eq!(use_name(&mut n, at(1, 2, 4, 0)), "door.jpg");
    }

    #[test]
    fn date_time_names_count_files_within_one_second() {
        let mut n = namer("cam", FileMode::DateTime);
        assert_eq!(use_name(&mut n, at(7, 5, 9, 0)), "cam20240309_070509.jpg");
        assert_eq!(
            use_name(&mut n, at(7, 5, 9, 333)),
            "cam20240309_070509_1.jpg"
        );
        assert_eq!(
            use_name(&mut n, at(7, 5, 9, 666)),
            "cam20240309_070509_2.jpg"
        );
        assert_eq!(use_name(&mut n, at(7, 5, 10, 0)), "cam20240309_070510.jpg");
    }

    #[test]
    fn sequence_wraps_after_the_maximum_and_retries_reuse_the_number() {
        let mut n = namer("img", FileMode::Sequence { max: 3 });
        assert_eq!(n.name(at(0, 0, 0, 0)), "img0001.jpg");
        assert_eq!(n.name(at(0, 0, 1, 0)), "img0001.jpg", "not committed yet");
        let names: Vec<String> = (0..4).map(|_| use_name(&mut n, at(0, 0, 0, 0))).collect();
        assert_eq!(
            names,
            ["img0001.jpg", "img0002.jpg", "img0003.jpg", "img0001.jpg"]
        );

        let wide = namer("img", FileMode::Sequence { max: 65535 });
        assert_eq!(wide.name(at(0, 0, 0, 0)), "img00001.jpg");
    }

    #[test]
    fn changing_the_naming_restarts_the_count_but_an_equal_one_does_not() {
        let naming = FileNaming {
            base: "a".into(),
            mode: FileMode::Sequence { max: 10 },
        };
        let mut n = FileNamer::new(naming.clone());
        use_name(&mut n, at(0, 0, 0, 0));
        n.configure(naming);
        assert_eq!(n.name(at(0, 0, 0, 0)), "a0002.jpg");
        n.configure(FileNaming {
            base: "b".into(),
            mode: FileMode::Sequence { max: 10 },
        });
        assert_eq!(n.name(at(0, 0, 0, 0)), "b0001.jpg");
    }
}
