//! The motion detector proper: a background model over the 1/8-scale luma grid.
//!
//! Per block it keeps a running average (the background) and a running mean absolute
//! deviation (the block's own noise: sensor noise, JPEG requantisation, flicker). A block
//! has changed when it differs from its background by more than its noise allows,
//! scaled by the sensitivity, and by at least a floor. Before comparing, the median
//! difference over the watched blocks is taken out: a uniform change of brightness
//! (sunrise, a cloud, auto-exposure) moves every block alike and is not motion.
//!
//! Only changed blocks with a changed neighbour count: a moving object covers adjacent
//! blocks, while noise that beats the threshold does so in isolated ones. A frame is a
//! motion frame when the counted blocks cover a minimum share of the watched area; motion
//! starts after [`DEBOUNCE_FRAMES`] motion frames in a row and ends after
//! [`QUIET_FRAMES`] frames without. A change spread over most of the picture at once (the
//! camera turned, the light was switched, the exposure stepped) is not motion either: an
//! object is somewhere, not everywhere, so when changed blocks appear in at least 40 % of
//! the watched mask cells the background is re-learnt instead, from frame to frame until
//! the picture has been still for [`SETTLE_FRAMES`] (a pan changes a little in every
//! frame, and must not be caught as it builds up against an old background).
//!
//! Uniform changes are taken out as a linear fit, frame ≈ gain × background + offset,
//! from medians (robust to the object itself): the offset covers a brightness ramp, the
//! gain an exposure change, which scales bright blocks more than dark ones.
//!
//! Everything is sized on the first frame of a resolution; after that a frame costs no
//! allocation.

use crate::dc::{DcError, DcReader, LumaGrid};
use crate::mask::{Mask, MASK_COLS, MASK_ROWS};

/// Motion frames in a row before motion is reported.
pub const DEBOUNCE_FRAMES: u32 = 3;
/// Frames without motion before motion is reported over.
pub const QUIET_FRAMES: u32 = 10;
/// Frames that only teach the background after a start, a new resolution or a pause.
pub const WARM_UP_FRAMES: u32 = 8;
/// Still frames needed after a change of the whole scene before motion counts again.
pub const SETTLE_FRAMES: u32 = 8;
/// Blocks this far from the median background take part in the gain estimate.
const GAIN_CONTRAST: f32 = 4.0;
/// Share of the watched mask cells that, all touched by changes at once, means the whole
/// scene changed rather than something in it moved.
const GLOBAL_CHANGE: f32 = 0.4;
/// How fast the background follows a block that did not change, per frame.
const LEARN_RATE: f32 = 0.05;
/// How fast it follows a changed block: an object that stays becomes background in a
/// minute or so at 30 fps, instead of being reported forever.
const LEARN_RATE_CHANGED: f32 = 0.002;
/// How fast the noise estimate follows.
const NOISE_RATE: f32 = 0.02;
/// Noise estimate of a block before it has been measured, in luma levels.
const INITIAL_NOISE: f32 = 1.0;

/// What the detector is told by the camera owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// 0 (least sensitive) to 100 (most).
    pub sensitivity: u8,
    /// The watched cells.
    pub mask: Mask,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sensitivity: 50,
            mask: Mask::ALL,
        }
    }
}

/// The thresholds a sensitivity stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Thresholds {
    /// Multiple of a block's noise (mean absolute deviation) that counts as a change.
    noise_factor: f32,
    /// Smallest luma difference that counts, whatever the noise.
    floor: f32,
    /// Share of the watched blocks that must change for a motion frame.
    min_area: f32,
}

impl Thresholds {
    fn of(sensitivity: u8) -> Self {
        let s = f32::from(sensitivity.min(100)) / 100.0;
        Thresholds {
            noise_factor: 10.0 - 7.0 * s,
            floor: 3.0 + 10.0 * (1.0 - s),
            // 3 % of the watched area at 0, 0.67 % at 50, 0.15 % at 100.
            min_area: 0.0015 * 20f32.powf(1.0 - s),
        }
    }
}

/// The result of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Blocks that changed in this frame (watched ones with a changed neighbour).
    pub changed_blocks: u32,
    /// Mask cells those blocks touched.
    pub changed_cells: u32,
    /// Whether this frame counted as a motion frame.
    pub motion_frame: bool,
    /// Whether motion is going on (debounced).
    pub active: bool,
    /// Motion started with this frame.
    pub started: bool,
    /// Motion ended with this frame.
    pub ended: bool,
}

/// The detector: feed it frames in order.
pub struct Detector {
    settings: Settings,
    thresholds: Thresholds,
    reader: DcReader,
    luma: LumaGrid,
    background: Vec<f32>,
    noise: Vec<f32>,
    watched: Vec<bool>,
    watched_count: u32,
    /// The mask cell of each block.
    cell_of: Vec<u8>,
    watched_cells: u32,
    /// Per block: changed in this frame (watched blocks only).
    changed: Vec<bool>,
    /// Per mask cell: whether a counted change touched it in this frame.
    cells_hit: [bool; MASK_COLS * MASK_ROWS],
    grid: (usize, usize),
    warm_up: u32,
    settling: u32,
    motion_run: u32,
    quiet_run: u32,
    active: bool,
    histogram: [u32; GAIN_BINS],
}

/// Bins of the histograms behind the medians: luma levels 0..=255, or gains from
/// [`GAIN_MIN`] in steps of [`GAIN_STEP`].
const GAIN_BINS: usize = 401;
const GAIN_MIN: f32 = 0.5;
const GAIN_STEP: f32 = 0.005;

impl Detector {
    /// A detector with `settings`, learning from its first frames.
    pub fn new(settings: Settings) -> Self {
        Detector {
            settings,
            thresholds: Thresholds::of(settings.sensitivity),
            reader: DcReader::new(),
            luma: LumaGrid::default(),
            background: Vec::new(),
            noise: Vec::new(),
            watched: Vec::new(),
            watched_count: 0,
            cell_of: Vec::new(),
            watched_cells: settings.mask.count(),
            changed: Vec::new(),
            cells_hit: [false; MASK_COLS * MASK_ROWS],
            grid: (0, 0),
            warm_up: WARM_UP_FRAMES,
            settling: 0,
            motion_run: 0,
            quiet_run: 0,
            active: false,
            histogram: [0; GAIN_BINS],
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Takes new settings; the background learnt so far is kept.
    pub fn configure(&mut self, settings: Settings) {
        if settings.mask != self.settings.mask {
            self.settings.mask = settings.mask;
            self.map_mask();
        }
        self.settings = settings;
        self.thresholds = Thresholds::of(settings.sensitivity);
    }

    /// Forgets the background (after the head moved): the next frames only teach, and
    /// motion in progress is over.
    pub fn relearn(&mut self) -> Verdict {
        self.warm_up = WARM_UP_FRAMES;
        self.settling = 0;
        self.motion_run = 0;
        self.quiet_run = 0;
        let ended = std::mem::take(&mut self.active);
        Verdict {
            ended,
            ..Verdict::default()
        }
    }

    /// Looks at one JPEG frame.
    pub fn feed_jpeg(&mut self, jpeg: &[u8]) -> Result<Verdict, DcError> {
        let mut luma = std::mem::take(&mut self.luma);
        let read = self.reader.read(jpeg, &mut luma);
        let verdict = read.map(|()| self.feed(&luma));
        self.luma = luma;
        verdict
    }

    /// Looks at one frame given as its 1/8-scale luma grid.
    pub fn feed(&mut self, luma: &LumaGrid) -> Verdict {
        if (luma.cols, luma.rows) != self.grid {
            self.reshape(luma.cols, luma.rows);
        }
        if self.warm_up > 0 {
            self.learn(luma);
            return self.verdict(0, 0, false);
        }
        let fit = self.uniform_change(luma);
        self.compare(luma, fit);
        let changed = self.count_clustered();
        let cells_hit = self.cells_hit.iter().filter(|&&hit| hit).count() as u32;
        let min_blocks = (self.thresholds.min_area * self.watched_count as f32).max(2.0);
        let global = cells_hit as f32 >= GLOBAL_CHANGE * self.watched_cells.max(1) as f32;
        if global || self.settling > 0 {
            // The scene as a whole changed, or has not been still since: follow it frame
            // by frame, and count down only while a frame barely differs from the last
            // (a quarter of a motion frame's change).
            self.background.copy_from_slice(&luma.values);
            self.settling = if global || changed as f32 * 4.0 >= min_blocks {
                SETTLE_FRAMES
            } else {
                self.settling - 1
            };
            self.motion_run = 0;
            return self.verdict(changed, cells_hit, false);
        }
        self.verdict(
            changed,
            cells_hit,
            self.watched_count > 0 && changed as f32 >= min_blocks,
        )
    }

    /// Marks the blocks that differ from the background (beyond the uniform `shift`) and
    /// lets the background and noise estimates follow the frame.
    fn compare(&mut self, luma: &LumaGrid, (gain, offset): (f32, f32)) {
        let t = self.thresholds;
        for i in 0..luma.values.len() {
            let expected = gain * self.background[i] + offset;
            let residual = luma.values[i] - expected;
            let limit = (t.noise_factor * self.noise[i]).max(t.floor);
            let moved = residual.abs() > limit;
            self.changed[i] = moved && self.watched[i];
            let rate = if moved {
                LEARN_RATE_CHANGED
            } else {
                LEARN_RATE
            };
            self.background[i] = (expected + rate * residual).clamp(0.0, 255.0);
            if !moved {
                self.noise[i] += NOISE_RATE * (residual.abs() - self.noise[i]);
            }
        }
    }

    /// Counts the changed blocks that have a changed neighbour, and notes their cells.
    fn count_clustered(&mut self) -> u32 {
        let (cols, rows) = self.grid;
        self.cells_hit.fill(false);
        let mut count = 0;
        for row in 0..rows {
            for col in 0..cols {
                let i = row * cols + col;
                if !self.changed[i] {
                    continue;
                }
                let neighbour = (col > 0 && self.changed[i - 1])
                    || (col + 1 < cols && self.changed[i + 1])
                    || (row > 0 && self.changed[i - cols])
                    || (row + 1 < rows && self.changed[i + cols]);
                if neighbour {
                    count += 1;
                    self.cells_hit[usize::from(self.cell_of[i])] = true;
                }
            }
        }
        count
    }

    fn verdict(&mut self, changed_blocks: u32, changed_cells: u32, motion_frame: bool) -> Verdict {
        let was_active = self.active;
        if motion_frame {
            self.motion_run += 1;
            self.quiet_run = 0;
            if self.motion_run >= DEBOUNCE_FRAMES {
                self.active = true;
            }
        } else {
            self.motion_run = 0;
            self.quiet_run += 1;
            if self.quiet_run >= QUIET_FRAMES {
                self.active = false;
            }
        }
        Verdict {
            changed_blocks,
            changed_cells,
            motion_frame,
            active: self.active,
            started: self.active && !was_active,
            ended: was_active && !self.active,
        }
    }

    fn reshape(&mut self, cols: usize, rows: usize) {
        self.grid = (cols, rows);
        self.background.clear();
        self.background.resize(cols * rows, 0.0);
        self.noise.clear();
        self.noise.resize(cols * rows, INITIAL_NOISE);
        self.changed.clear();
        self.changed.resize(cols * rows, false);
        self.map_mask();
        self.relearn();
    }

    /// Which blocks lie in a watched cell of the 16 × 12 mask.
    fn map_mask(&mut self) {
        let (cols, rows) = self.grid;
        self.watched.clear();
        self.cell_of.clear();
        for row in 0..rows {
            for col in 0..cols {
                let cell = (col * MASK_COLS / cols, row * MASK_ROWS / rows);
                self.watched
                    .push(self.settings.mask.watches(cell.0, cell.1));
                self.cell_of.push((cell.1 * MASK_COLS + cell.0) as u8);
            }
        }
        self.watched_count = self.watched.iter().filter(|&&w| w).count() as u32;
        self.watched_cells = self.settings.mask.count();
    }

    fn learn(&mut self, luma: &LumaGrid) {
        if self.warm_up == WARM_UP_FRAMES {
            self.background.copy_from_slice(&luma.values);
        } else {
            for ((bg, noise), &value) in self
                .background
                .iter_mut()
                .zip(self.noise.iter_mut())
                .zip(&luma.values)
            {
                let residual = value - *bg;
                *bg += 0.3 * residual;
                *noise += 0.3 * (residual.abs() - *noise);
            }
        }
        self.warm_up -= 1;
    }

    /// The uniform part of the change as `(gain, offset)`: frame ≈ gain × background +
    /// offset. Medians over the watched blocks, so an object covering less than half of
    /// them does not move the fit.
    fn uniform_change(&mut self, luma: &LumaGrid) -> (f32, f32) {
        let background_median = median_level(&mut self.histogram, &self.background, &self.watched);
        let frame_median = median_level(&mut self.histogram, &luma.values, &self.watched);
        self.histogram.fill(0);
        let mut samples = 0u32;
        for ((&value, &bg), &watched) in luma.values.iter().zip(&self.background).zip(&self.watched)
        {
            let contrast = bg - background_median;
            if watched && contrast.abs() >= GAIN_CONTRAST {
                let gain = (value - frame_median) / contrast;
                let bin = ((gain - GAIN_MIN) / GAIN_STEP).round();
                self.histogram[bin.clamp(0.0, (GAIN_BINS - 1) as f32) as usize] += 1;
                samples += 1;
            }
        }
        let gain = if samples * 20 >= self.watched_count.max(1) {
            GAIN_MIN + GAIN_STEP * median_bin(&self.histogram, samples) as f32
        } else {
            1.0
        };
        (gain, frame_median - gain * background_median)
    }
}

/// The median luma level of `values` over the watched blocks.
fn median_level(histogram: &mut [u32], values: &[f32], watched: &[bool]) -> f32 {
    histogram.fill(0);
    let mut total = 0;
    for (&value, &watched) in values.iter().zip(watched) {
        if watched {
            histogram[value.round().clamp(0.0, 255.0) as usize] += 1;
            total += 1;
        }
    }
    median_bin(histogram, total) as f32
}

/// The bin holding the median of `total` counted samples.
fn median_bin(histogram: &[u32], total: u32) -> usize {
    let mut seen = 0;
    for (bin, &count) in histogram.iter().enumerate() {
        seen += count;
        if seen * 2 > total {
            return bin;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(cols: usize, rows: usize, value: f32) -> LumaGrid {
        LumaGrid {
            cols,
            rows,
            values: vec![value; cols * rows],
        }
    }

    /// A detector past its warm-up on a flat grey 80 × 60 scene.
    fn warmed(sensitivity: u8) -> (Detector, LumaGrid) {
        let mut detector = Detector::new(Settings {
            sensitivity,
            mask: Mask::ALL,
        });
        let scene = grid(80, 60, 100.0);
        for _ in 0..WARM_UP_FRAMES + 5 {
            assert!(!detector.feed(&scene).motion_frame);
        }
        (detector, scene)
    }

    fn with_square(scene: &LumaGrid, x: usize, y: usize, size: usize, value: f32) -> LumaGrid {
        let mut frame = scene.clone();
        for row in y..y + size {
            for col in x..x + size {
                frame.values[row * frame.cols + col] = value;
            }
        }
        frame
    }

    #[test]
    fn motion_starts_after_the_debounce_and_ends_after_quiet_frames() {
        let (mut detector, scene) = warmed(50);
        let mut started_at = None;
        for n in 0..DEBOUNCE_FRAMES + 2 {
            let frame = with_square(&scene, 10 + n as usize * 2, 10, 8, 200.0);
            let verdict = detector.feed(&frame);
            assert!(verdict.motion_frame, "frame {n}: {verdict:?}");
            if verdict.started {
                started_at = Some(n + 1);
            }
        }
        assert_eq!(started_at, Some(DEBOUNCE_FRAMES));
        let mut ended_at = None;
        for n in 0..QUIET_FRAMES + 5 {
            if detector.feed(&scene).ended {
                ended_at = Some(n + 1);
            }
        }
        assert!(ended_at.is_some_and(|n| n >= QUIET_FRAMES), "{ended_at:?}");
    }

    #[test]
    fn a_uniform_brightness_change_is_not_motion() {
        let (mut detector, _) = warmed(100);
        for step in 1..=40 {
            let verdict = detector.feed(&grid(80, 60, 100.0 + step as f32 * 3.0));
            assert!(!verdict.motion_frame, "step {step}: {verdict:?}");
        }
    }

    #[test]
    fn a_change_of_the_whole_scene_is_relearnt_not_reported() {
        let (mut detector, _) = warmed(50);
        let mut other = grid(80, 60, 30.0);
        for (i, v) in other.values.iter_mut().enumerate() {
            *v += (i % 7) as f32 * 20.0;
        }
        for _ in 0..5 {
            assert!(!detector.feed(&other).motion_frame);
        }
    }

    #[test]
    fn changes_outside_the_mask_are_ignored() {
        let (mut detector, scene) = warmed(100);
        let mut rows = [0xFFFFu16; MASK_ROWS];
        // Unwatch the top-left quarter: cells 0..8 of rows 0..6, blocks 0..40 × 0..30.
        for row in rows.iter_mut().take(6) {
            *row = 0x00FF;
        }
        detector.configure(Settings {
            sensitivity: 100,
            mask: Mask::from_rows(rows),
        });
        for n in 0..10 {
            let frame = with_square(&scene, 5 + n, 5, 20, 220.0);
            assert!(!detector.feed(&frame).motion_frame);
        }
        let frame = with_square(&scene, 50, 40, 10, 220.0);
        assert!(detector.feed(&frame).motion_frame);
    }

    #[test]
    fn sensitivity_sets_the_smallest_object_that_counts() {
        // 4 × 4 blocks are 0.33 % of the 4800: above the 0.2 % of sensitivity 100, far
        // below the 5 % of sensitivity 0.
        let (mut low, scene) = warmed(0);
        let (mut high, _) = warmed(100);
        let frame = with_square(&scene, 40, 30, 4, 180.0);
        assert!(!low.feed(&frame).motion_frame);
        assert!(high.feed(&frame).motion_frame);
    }
}
