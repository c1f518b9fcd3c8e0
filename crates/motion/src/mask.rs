//! Which parts of the picture are watched: a grid of 16 × 12 cells over the whole frame,
//! whatever its resolution.
//!
//! The text form is what `/motion.cgi` takes and shows and what the state file keeps:
//! twelve rows, top first, separated by `,`; each row four hexadecimal digits whose bits
//! are the sixteen cells from left to right (`8000` = only the leftmost cell, `FFFF` = the
//! whole row). `FFFF,FFFF,…` watches everything; `0000,…` nothing. Short enough to type
//! with curl, and each row reads as a bit pattern.

use std::fmt;
use std::str::FromStr;

/// Cells across.
pub const MASK_COLS: usize = 16;
/// Cells down.
pub const MASK_ROWS: usize = 12;

/// Watched cells; bit 15 of a row is its leftmost cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mask([u16; MASK_ROWS]);

/// Why a mask text was refused; the message names what is wrong, for a 400 reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MaskError(String);

impl Mask {
    /// Every cell watched (the factory setting).
    pub const ALL: Mask = Mask([0xFFFF; MASK_ROWS]);
    /// No cell watched.
    pub const NONE: Mask = Mask([0; MASK_ROWS]);

    /// A mask of the given rows, top first.
    pub const fn from_rows(rows: [u16; MASK_ROWS]) -> Mask {
        Mask(rows)
    }

    /// The rows, top first.
    pub fn rows(&self) -> [u16; MASK_ROWS] {
        self.0
    }

    /// Whether cell (`col`, `row`) is watched.
    pub fn watches(&self, col: usize, row: usize) -> bool {
        col < MASK_COLS && row < MASK_ROWS && self.0[row] & (0x8000 >> col) != 0
    }

    /// How many cells are watched.
    pub fn count(&self) -> u32 {
        self.0.iter().map(|row| row.count_ones()).sum()
    }
}

impl Default for Mask {
    fn default() -> Self {
        Mask::ALL
    }
}

impl fmt::Display for Mask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, row) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{row:04X}")?;
        }
        Ok(())
    }
}

impl FromStr for Mask {
    type Err = MaskError;

    /// Twelve rows of four hex digits separated by `,`; spaces around rows are ignored,
    /// digits in either case.
    fn from_str(text: &str) -> Result<Mask, MaskError> {
        let rows: Vec<&str> = text.split(',').map(str::trim).collect();
        if rows.len() != MASK_ROWS {
            return Err(MaskError(format!(
                "must be {MASK_ROWS} rows of 4 hex digits separated by ',' (got {} rows)",
                rows.len()
            )));
        }
        let mut mask = [0u16; MASK_ROWS];
        for (n, (row, out)) in rows.iter().zip(mask.iter_mut()).enumerate() {
            let hex = row.len() == 4 && row.bytes().all(|b| b.is_ascii_hexdigit());
            *out = u16::from_str_radix(row, 16)
                .ok()
                .filter(|_| hex)
                .ok_or_else(|| MaskError(format!("row {} must be 4 hex digits", n + 1)))?;
        }
        Ok(Mask(mask))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_bits_run_left_to_right() {
        let text = "8000,0001,FFFF,0000,0000,0000,0000,0000,0000,0000,0000,00F0";
        let mask: Mask = text.parse().expect("valid");
        assert_eq!(mask.to_string(), text);
        assert!(mask.watches(0, 0) && !mask.watches(1, 0));
        assert!(mask.watches(15, 1) && !mask.watches(14, 1));
        assert!((0..16).all(|col| mask.watches(col, 2)));
        assert!(mask.watches(8, 11) && !mask.watches(7, 11) && !mask.watches(12, 11));
        assert_eq!(mask.count(), 1 + 1 + 16 + 4);
    }

    #[test]
    fn spaces_and_lower_case_are_accepted() {
        let mask: Mask = " ffff , FFFF,ffff,ffff,ffff,ffff,ffff,ffff,ffff,ffff,ffff,ffff"
            .parse()
            .expect("valid");
        assert_eq!(mask, Mask::ALL);
    }

    #[test]
    fn bad_text_names_what_is_wrong() {
        let err = "FFFF".parse::<Mask>().unwrap_err();
        assert!(err.to_string().contains("12 rows"), "{err}");
        let mut rows = ["FFFF"; 12];
        rows[4] = "FFF";
        let err = rows.join(",").parse::<Mask>().unwrap_err();
        assert_eq!(err.to_string(), "row 5 must be 4 hex digits");
        rows[4] = "+FFF";
        assert!(rows.join(",").parse::<Mask>().is_err());
        rows[4] = "GGGG";
        assert!(rows.join(",").parse::<Mask>().is_err());
    }
}
