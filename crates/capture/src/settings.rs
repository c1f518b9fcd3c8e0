//! Image settings of IPCamCGI 3.3.2 in typed form.
//!
//! The HTTP layer speaks the spec's integer codes (`VideoResolution=2`, `Mirror=3`, ...);
//! the capture thread and the sources need meaning (pixels, JPEG quality, gain factors).
//! Every type here can only hold a value the spec allows, so a settings value that exists
//! is valid and a source can apply it without checking again. The `from_code`/`code` pairs
//! are the one place where the spec's numbering lives.

use crate::SettingsError;

/// Picture size (`VideoResolution`: 0 → 160×120, 1 → 320×240, 2 → 640×480).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Resolution {
    /// 160 × 120 (code 0).
    Qqvga,
    /// 320 × 240 (code 1).
    Qvga,
    /// 640 × 480 (code 2), the default.
    #[default]
    Vga,
}

impl Resolution {
    /// All resolutions, smallest first.
    pub const ALL: [Resolution; 3] = [Resolution::Qqvga, Resolution::Qvga, Resolution::Vga];

    /// Parses the spec's `VideoResolution` code.
    pub fn from_code(code: i64) -> Result<Self, SettingsError> {
        match code {
            0 => Ok(Resolution::Qqvga),
            1 => Ok(Resolution::Qvga),
            2 => Ok(Resolution::Vga),
            _ => Err(SettingsError::Resolution(code)),
        }
    }

    /// The spec's `VideoResolution` code.
    pub fn code(self) -> u8 {
        match self {
            Resolution::Qqvga => 0,
            Resolution::Qvga => 1,
            Resolution::Vga => 2,
        }
    }

    /// Width in pixels.
    pub fn width(self) -> u16 {
        match self {
            Resolution::Qqvga => 160,
            Resolution::Qvga => 320,
            Resolution::Vga => 640,
        }
    }

    /// Height in pixels.
    pub fn height(self) -> u16 {
        match self {
            Resolution::Qqvga => 120,
            Resolution::Qvga => 240,
            Resolution::Vga => 480,
        }
    }
}

/// JPEG compression (`CompressionRate`: 0 → Very Low ... 4 → Very High).
///
/// "Compression" is the spec's word, so a *higher* rate means a *smaller* file and a
/// *lower* JPEG quality. The mapping to libjpeg-style quality (1..=100) is:
///
/// | code | name      | quality |
/// |------|-----------|---------|
/// | 0    | Very Low  | 90      |
/// | 1    | Low       | 80      |
/// | 2    | Medium    | 70      |
/// | 3    | High      | 55      |
/// | 4    | Very High | 40      |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Code 0: best picture, largest frames.
    VeryLow,
    /// Code 1.
    Low,
    /// Code 2, the default.
    #[default]
    Medium,
    /// Code 3.
    High,
    /// Code 4: smallest frames, lowest quality.
    VeryHigh,
}

impl Compression {
    /// Parses the spec's `CompressionRate` code.
    pub fn from_code(code: i64) -> Result<Self, SettingsError> {
        match code {
            0 => Ok(Compression::VeryLow),
            1 => Ok(Compression::Low),
            2 => Ok(Compression::Medium),
            3 => Ok(Compression::High),
            4 => Ok(Compression::VeryHigh),
            _ => Err(SettingsError::Compression(code)),
        }
    }

    /// The spec's `CompressionRate` code.
    pub fn code(self) -> u8 {
        match self {
            Compression::VeryLow => 0,
            Compression::Low => 1,
            Compression::Medium => 2,
            Compression::High => 3,
            Compression::VeryHigh => 4,
        }
    }

    /// JPEG quality (1..=100) used when this crate encodes (see the table above).
    pub fn jpeg_quality(self) -> u8 {
        match self {
            Compression::VeryLow => 90,
            Compression::Low => 80,
            Compression::Medium => 70,
            Compression::High => 55,
            Compression::VeryHigh => 40,
        }
    }
}

/// Frames per second (`FrameRate`: 0 → Auto, or 1, 5, 7, 15, 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FrameRate {
    /// The source's own maximum (the negotiated rate of a camera, or the capture
    /// options' `auto_fps` for the synthetic and replay sources).
    #[default]
    Auto,
    /// 1 fps.
    Fps1,
    /// 5 fps.
    Fps5,
    /// 7 fps.
    Fps7,
    /// 15 fps.
    Fps15,
    /// 20 fps.
    Fps20,
}

impl FrameRate {
    /// Parses the spec's `FrameRate` code (the rate itself, 0 for Auto).
    pub fn from_code(code: i64) -> Result<Self, SettingsError> {
        match code {
            0 => Ok(FrameRate::Auto),
            1 => Ok(FrameRate::Fps1),
            5 => Ok(FrameRate::Fps5),
            7 => Ok(FrameRate::Fps7),
            15 => Ok(FrameRate::Fps15),
            20 => Ok(FrameRate::Fps20),
            _ => Err(SettingsError::FrameRate(code)),
        }
    }

    /// The spec's `FrameRate` code.
    pub fn code(self) -> u8 {
        self.fps().unwrap_or(0)
    }

    /// The fixed rate, or `None` for Auto.
    pub fn fps(self) -> Option<u8> {
        match self {
            FrameRate::Auto => None,
            FrameRate::Fps1 => Some(1),
            FrameRate::Fps5 => Some(5),
            FrameRate::Fps7 => Some(7),
            FrameRate::Fps15 => Some(15),
            FrameRate::Fps20 => Some(20),
        }
    }
}

/// A picture control level (`BrightnessControl`, `ContrastControl`, `SaturationControl`):
/// 1..=128, where 64 leaves the picture unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Level(u8);

impl Level {
    /// The lowest level.
    pub const MIN: Level = Level(1);
    /// The level that leaves the picture as the sensor sees it.
    pub const NEUTRAL: Level = Level(64);
    /// The highest level.
    pub const MAX: Level = Level(128);

    /// Validates a level; `control` names the spec parameter for the error message.
    pub fn new(control: &'static str, value: i64) -> Result<Self, SettingsError> {
        match u8::try_from(value) {
            Ok(v) if (Self::MIN.0..=Self::MAX.0).contains(&v) => Ok(Level(v)),
            _ => Err(SettingsError::Level { control, value }),
        }
    }

    /// The level, 1..=128.
    pub fn get(self) -> u8 {
        self.0
    }

    /// The level as a gain around neutral: 1.0 at 64, 2.0 at 128, 1/64 at 1.
    pub fn gain(self) -> f32 {
        f32::from(self.0) / f32::from(Self::NEUTRAL.0)
    }
}

impl Default for Level {
    fn default() -> Self {
        Level::NEUTRAL
    }
}

/// Mains frequency the sensor's exposure avoids beating with (`LightFrequency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LightFrequency {
    /// 50 Hz (code 0).
    Hz50,
    /// 60 Hz (code 1), the default.
    #[default]
    Hz60,
}

impl LightFrequency {
    /// Parses the spec's `LightFrequency` code.
    pub fn from_code(code: i64) -> Result<Self, SettingsError> {
        match code {
            0 => Ok(LightFrequency::Hz50),
            1 => Ok(LightFrequency::Hz60),
            _ => Err(SettingsError::LightFrequency(code)),
        }
    }

    /// The spec's `LightFrequency` code.
    pub fn code(self) -> u8 {
        match self {
            LightFrequency::Hz50 => 0,
            LightFrequency::Hz60 => 1,
        }
    }
}

/// Picture flips (`Mirror`: bit 0 horizontal, bit 1 vertical).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Mirror {
    /// Left and right swapped.
    pub horizontal: bool,
    /// Top and bottom swapped.
    pub vertical: bool,
}

impl Mirror {
    /// Parses the spec's `Mirror` bit field (0..=3).
    pub fn from_code(code: i64) -> Result<Self, SettingsError> {
        match code {
            0..=3 => Ok(Mirror {
                horizontal: code & 1 != 0,
                vertical: code & 2 != 0,
            }),
            _ => Err(SettingsError::Mirror(code)),
        }
    }

    /// The spec's `Mirror` bit field.
    pub fn code(self) -> u8 {
        u8::from(self.horizontal) | (u8::from(self.vertical) << 1)
    }
}

/// Everything `/image.cgi` configures, applied live by the capture thread.
///
/// The default is the camera's factory setting: 640×480, Medium compression, Auto frame
/// rate, all levels neutral (64), 60 Hz, no mirror, anti-flicker off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ImageSettings {
    /// Picture size.
    pub resolution: Resolution,
    /// JPEG compression.
    pub compression: Compression,
    /// Frames per second.
    pub frame_rate: FrameRate,
    /// Brightness level.
    pub brightness: Level,
    /// Contrast level.
    pub contrast: Level,
    /// Colour saturation level.
    pub saturation: Level,
    /// Mains frequency.
    pub light_frequency: LightFrequency,
    /// Picture flips.
    pub mirror: Mirror,
    /// Exposure locked to the light frequency to suppress flicker.
    pub anti_flicker: bool,
}

/// Parses the spec's `AntiFlickerEnable` code (0 or 1).
pub fn anti_flicker_from_code(code: i64) -> Result<bool, SettingsError> {
    match code {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(SettingsError::AntiFlicker(code)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_factory_settings() {
        let s = ImageSettings::default();
        assert_eq!((s.resolution.width(), s.resolution.height()), (640, 480));
        assert_eq!(s.compression.code(), 2);
        assert_eq!(s.frame_rate.code(), 0);
        assert_eq!(
            (s.brightness.get(), s.contrast.get(), s.saturation.get()),
            (64, 64, 64)
        );
        assert_eq!(s.light_frequency.code(), 1);
        assert_eq!(s.mirror.code(), 0);
        assert!(!s.anti_flicker);
    }

    #[test]
    fn codes_round_trip() {
        for code in 0..=2 {
            assert_eq!(i64::from(Resolution::from_code(code).unwrap().code()), code);
        }
        for code in 0..=4 {
            assert_eq!(
                i64::from(Compression::from_code(code).unwrap().code()),
                code
            );
        }
        for code in [0, 1, 5, 7, 15, 20] {
            assert_eq!(i64::from(FrameRate::from_code(code).unwrap().code()), code);
        }
        for code in 0..=3 {
            assert_eq!(i64::from(Mirror::from_code(code).unwrap().code()), code);
        }
        for code in 0..=1 {
            assert_eq!(
                i64::from(LightFrequency::from_code(code).unwrap().code()),
                code
            );
        }
    }

    #[test]
    fn out_of_range_codes_are_typed_errors_naming_the_parameter() {
        assert_eq!(Resolution::from_code(3), Err(SettingsError::Resolution(3)));
        assert_eq!(
            Compression::from_code(-1),
            Err(SettingsError::Compression(-1))
        );
        assert_eq!(FrameRate::from_code(30), Err(SettingsError::FrameRate(30)));
        assert_eq!(Mirror::from_code(4), Err(SettingsError::Mirror(4)));
        assert_eq!(
            LightFrequency::from_code(2),
            Err(SettingsError::LightFrequency(2))
        );
        assert_eq!(
            anti_flicker_from_code(2),
            Err(SettingsError::AntiFlicker(2))
        );
        for bad in [0, 129, -5, 1000] {
            let err = Level::new("BrightnessControl", bad).unwrap_err();
            assert!(err.to_string().contains("BrightnessControl"), "{err}");
        }
        assert_eq!(Level::new("ContrastControl", 1).unwrap(), Level::MIN);
        assert_eq!(Level::new("ContrastControl", 128).unwrap(), Level::MAX);
    }

    #[test]
    fn higher_compression_means_lower_quality() {
        let qualities: Vec<u8> = (0..=4)
            .map(|c| Compression::from_code(c).unwrap().jpeg_quality())
            .collect();
        assert!(qualities.windows(2).all(|w| w[0] > w[1]), "{qualities:?}");
    }

    #[test]
    fn mirror_bits_follow_the_spec() {
        let m = Mirror::from_code(1).unwrap();
        assert!(m.horizontal && !m.vertical);
        let m = Mirror::from_code(2).unwrap();
        assert!(!m.horizontal && m.vertical);
    }
}
