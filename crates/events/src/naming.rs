//! File names of uploaded frames, per file mode of `/upload.cgi`.
//!
//! - Overwrite (0): `<base>.jpg`, every upload replaces the last one.
//! - Date/time (1): `<base>YYYYMMDD_HHMMSS.jpg` in the camera's local time; a second file
//!   in the same second (1–3 frames per second) gets `_1`, `_2`... before `.jpg`, so no
//!   upload overwrites another.
//! - Sequence (2): `<base>0001.jpg`, `<base>0002.jpg`... up to the maximum, then `0001`
//!   again. Numbers have four digits, or five when the maximum has five. A number is used
//!   up only by an upload that succeeded: a retry reuses it.
//!
//! Where a sequence starts is read from the server, so that a rebooted camera does not
//! overwrite its newest pictures: before the first upload (after a restart, a power cut, or
//! a change of base name or maximum) the directory is listed and the count continues after
//! the **newest** file of the sequence, by modification time. The highest number would be
//! wrong once the sequence has wrapped: then every number exists and the newest files are
//! `0001`, `0002`... Files written in the same second (the server's times have whole
//! seconds) are told apart by the sequence order: of `max` and `0001` in one second,
//! `0001` came later. A listing without times (a server that cannot send them) falls back
//! to continuing after the highest number. An empty directory starts at 1.

use chrono::{NaiveDateTime, Timelike};

use crate::settings::{FileMode, FileNaming};

/// A file found in the upload directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    /// The name as the server listed it, possibly with a directory part.
    pub name: String,
    /// When the file was last written (UTC, as the server's clock saw it); `None` when the
    /// listing gave no time.
    pub modified: Option<NaiveDateTime>,
}

impl ListedFile {
    /// A file listed without a modification time.
    pub fn untimed(name: impl Into<String>) -> Self {
        ListedFile {
            name: name.into(),
            modified: None,
        }
    }
}

/// Hands out the file names of one kind of upload (scheduled or manual).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNamer {
    naming: FileNaming,
    next_sequence: u16,
    /// The sequence still has to be resumed from the server's listing.
    awaits_listing: bool,
    last_stamp: Option<NaiveDateTime>,
    same_second: u32,
}

impl FileNamer {
    /// A namer starting from sequence number 1, or in sequence mode from the listing given
    /// to [`FileNamer::resume`].
    pub fn new(naming: FileNaming) -> Self {
        FileNamer {
            awaits_listing: matches!(naming.mode, FileMode::Sequence { .. }),
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

    /// Whether the next name depends on the files already in the upload directory: give
    /// them to [`FileNamer::resume`] first.
    pub fn awaits_listing(&self) -> bool {
        self.awaits_listing
    }

    /// Continues the sequence after the newest of the `existing` files that belong to it,
    /// or after the highest number when not every one of them has a modification time.
    pub fn resume(&mut self, existing: &[ListedFile]) {
        self.awaits_listing = false;
        let FileMode::Sequence { max } = self.naming.mode else {
            return;
        };
        let numbered: Vec<(u16, Option<NaiveDateTime>)> = existing
            .iter()
            .filter_map(|file| {
                let file_name = file.name.rsplit('/').next().unwrap_or(&file.name);
                Some((self.sequence_number_of(file_name)?, file.modified))
            })
            .filter(|&(number, _)| (1..=max).contains(&number))
            .collect();
        let last = newest_number(&numbered, max)
            .or_else(|| numbered.iter().map(|&(number, _)| number).max());
        self.next_sequence = last.map_or(1, |number| following(number, max));
    }

    /// The number in `file_name` if it is one of this sequence's names.
    fn sequence_number_of(&self, file_name: &str) -> Option<u16> {
        let FileMode::Sequence { max } = self.naming.mode else {
            return None;
        };
        let digits = file_name
            .strip_prefix(self.naming.base.as_str())?
            .strip_suffix(".jpg")?;
        let well_formed =
            digits.len() == sequence_width(max) && digits.bytes().all(|b| b.is_ascii_digit());
        well_formed.then(|| digits.parse().ok()).flatten()
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
                let width = sequence_width(max);
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
                self.next_sequence = following(self.next_sequence, max);
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

/// The sequence number after `number`: 1 after the maximum.
fn following(number: u16, max: u16) -> u16 {
    if number >= max {
        1
    } else {
        number + 1
    }
}

/// The number of the newest file among `(number, modified)`, `None` unless every file has
/// a time. Of the files sharing the newest time, the newest is the one whose successor
/// is not among them (the end of the run written in that second); when several runs end
/// there, the highest end; when the whole sequence shares it, the maximum.
fn newest_number(files: &[(u16, Option<NaiveDateTime>)], max: u16) -> Option<u16> {
    let timed: Vec<(u16, NaiveDateTime)> = files
        .iter()
        .map(|&(number, modified)| Some((number, modified?)))
        .collect::<Option<_>>()?;
    let newest = timed.iter().map(|&(_, modified)| modified).max()?;
    let mut tied: Vec<u16> = timed
        .iter()
        .filter(|&&(_, modified)| modified == newest)
        .map(|&(number, _)| number)
        .collect();
    tied.sort_unstable();
    let is_tied = |number: u16| tied.binary_search(&number).is_ok();
    tied.iter()
        .rev()
        .copied()
        .find(|&number| !is_tied(following(number, max)))
        .or_else(|| tied.last().copied())
}

/// Digits of a sequence number: four, or five when the maximum has five.
fn sequence_width(max: u16) -> usize {
    if max >= 10_000 {
        5
    } else {
        4
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

    fn untimed(names: &[&str]) -> Vec<ListedFile> {
        names.iter().copied().map(ListedFile::untimed).collect()
    }

    /// Files of base `img` by number, written at the given second past noon.
    fn written(files: &[(u16, u32)]) -> Vec<ListedFile> {
        files
            .iter()
            .map(|&(number, second)| ListedFile {
                name: format!("img{number:04}.jpg"),
                modified: Some(at(12, 0, second, 0)),
            })
            .collect()
    }

    fn next_after(max: u16, existing: &[ListedFile]) -> String {
        let mut n = namer("img", FileMode::Sequence { max });
        n.resume(existing);
        n.name(at(0, 0, 0, 0))
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
    fn a_sequence_continues_after_the_highest_number_on_the_server() {
        let mut n = namer("img", FileMode::Sequence { max: 50 });
        assert!(n.awaits_listing());
        n.resume(&untimed(&[
            "img0007.jpg",
            "/cams/door/img0012.jpg",
            "img0031.jpg.part",
            "img0099.jpg",
            "img00040.jpg",
            "img00x1.jpg",
            "other0040.jpg",
            "img.jpg",
        ]));
        assert!(!n.awaits_listing());
        assert_eq!(n.name(at(0, 0, 0, 0)), "img0013.jpg");
    }

    #[test]
    fn a_sequence_starts_at_one_in_an_empty_or_full_directory() {
        let mut empty = namer("img", FileMode::Sequence { max: 3 });
        empty.resume(&[]);
        assert_eq!(empty.name(at(0, 0, 0, 0)), "img0001.jpg");
        let mut full = namer("img", FileMode::Sequence { max: 3 });
        full.resume(&untimed(&["img0001.jpg", "img0002.jpg", "img0003.jpg"]));
        assert_eq!(full.name(at(0, 0, 0, 0)), "img0001.jpg");
    }

    #[test]
    fn only_the_sequence_mode_reads_the_directory() {
        assert!(!namer("img", FileMode::Overwrite).awaits_listing());
        assert!(!namer("img", FileMode::DateTime).awaits_listing());
    }

    #[test]
    fn changing_the_naming_rereads_the_directory_but_an_equal_one_does_not() {
        let naming = FileNaming {
            base: "a".into(),
            mode: FileMode::Sequence { max: 10 },
        };
        let mut n = FileNamer::new(naming.clone());
        n.resume(&[]);
        use_name(&mut n, at(0, 0, 0, 0));
        n.configure(naming);
        assert!(!n.awaits_listing());
        assert_eq!(n.name(at(0, 0, 0, 0)), "a0002.jpg");
        n.configure(FileNaming {
            base: "b".into(),
            mode: FileMode::Sequence { max: 10 },
        });
        assert!(n.awaits_listing());
        n.resume(&untimed(&["a0001.jpg", "b0004.jpg"]));
        assert_eq!(n.name(at(0, 0, 0, 0)), "b0005.jpg");
    }

    #[test]
    fn a_wrapped_sequence_continues_after_the_newest_file_not_the_highest_number() {
        // max 5, wrapped once: 4 and 5 are from the first round, 1..3 from the second.
        let wrapped = written(&[(4, 4), (5, 5), (1, 6), (2, 7), (3, 8)]);
        assert_eq!(next_after(5, &wrapped), "img0004.jpg");
        let newest_is_max = written(&[(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]);
        assert_eq!(next_after(5, &newest_is_max), "img0001.jpg");
    }

    #[test]
    fn files_of_the_same_second_are_ordered_by_the_sequence() {
        let max_then_one = written(&[(2, 1), (3, 1), (4, 2), (5, 3), (1, 3)]);
        assert_eq!(next_after(5, &max_then_one), "img0002.jpg");
        let across_the_wrap = written(&[(3, 1), (4, 2), (5, 2), (1, 2), (2, 2)]);
        assert_eq!(next_after(5, &across_the_wrap), "img0003.jpg");
        let before_the_wrap = written(&[(1, 1), (2, 2), (3, 2)]);
        assert_eq!(next_after(5, &before_the_wrap), "img0004.jpg");
    }

    #[test]
    fn a_sequence_written_all_in_one_second_continues_after_the_maximum() {
        let copied = written(&[(1, 0), (2, 0), (3, 0)]);
        assert_eq!(next_after(3, &copied), "img0001.jpg");
        let with_a_gap = written(&[(1, 0), (3, 0)]);
        assert_eq!(next_after(9, &with_a_gap), "img0004.jpg");
    }

    #[test]
    fn a_listing_with_a_file_without_time_uses_the_highest_number() {
        let mut files = written(&[(1, 9), (2, 1)]);
        files.push(ListedFile::untimed("img0003.jpg"));
        assert_eq!(next_after(5, &files), "img0004.jpg");
        let mut others_untimed = written(&[(1, 9), (2, 1)]);
        others_untimed.push(ListedFile::untimed("door0003.jpg"));
        assert_eq!(
            next_after(5, &others_untimed),
            "img0002.jpg",
            "files outside the sequence do not matter"
        );
    }
}
