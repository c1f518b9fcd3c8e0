//! Video clips for the motion detector's tests, made by ffmpeg from its lavfi sources:
//! nothing recorded is checked in, and each scene says in its filter graph what it shows.
//!
//! Every clip is 640×480 at 30 fps, written as a folder of baseline 4:2:0 JPEGs (what an
//! MJPEG camera sends), which is also what `--source replay:DIR` plays.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Frames per second of every clip.
pub const FPS: u32 = 30;

/// A static, textured 640×480 scene (or wider, for pans): sine patterns in luma and
/// chroma, no moving element: the camera's "empty room". Drawn once (geq is slow), then
/// repeated.
fn texture(width: u32) -> String {
    format!(
        "nullsrc=s={width}x480:r={FPS},trim=end_frame=1,\
         geq=lum='128+50*sin(X/9)*cos(Y/7)+30*sin((X+Y)/23)':\
         cb='128+20*sin(X/31)':cr='128+20*cos(Y/17)',loop=loop=-1:size=1,setpts=N/{FPS}/TB"
    )
}

/// The scenes the detector is tested against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    /// A grey scene with light sensor noise; at `enter_frame` a red 80×80 box starts
    /// entering from the left edge and crosses at 200 px/s.
    ObjectEnters {
        /// First frame on which part of the box is visible.
        enter_frame: u32,
    },
    /// The textured scene brightening slowly: +0.25 of the full range over the clip.
    BrightnessRamp,
    /// The textured scene fading in from black over the clip's first 3 seconds (an
    /// exposure change: multiplicative, not additive).
    FadeIn,
    /// The textured scene with strong temporal sensor noise (`noise=alls=20:allf=t`).
    SensorNoise,
    /// The whole picture panning right at 120 px/s, as when the camera turns.
    Pan,
}

impl Scene {
    /// The filter graph that draws the scene for `seconds`.
    fn graph(self, seconds: f64) -> String {
        match self {
            Scene::ObjectEnters { enter_frame } => {
                let start = f64::from(enter_frame - 1) / f64::from(FPS);
                format!(
                    "color=c=0x707070:s=640x480:r={FPS}:d={seconds}[bg];\
                     color=c=0xC02020:s=80x80:r={FPS}:d={seconds}[box];\
                     [bg][box]overlay=x='-80+200*(t-{start})':y=200:eval=frame,\
                     noise=alls=6:allf=t"
                )
            }
            Scene::BrightnessRamp => format!(
                "{},trim=duration={seconds},eq=brightness='0.25*t/{seconds}':eval=frame",
                texture(640)
            ),
            Scene::FadeIn => format!(
                "{},trim=duration={seconds},fade=t=in:st=0:d=3",
                texture(640)
            ),
            Scene::SensorNoise => format!(
                "{},trim=duration={seconds},noise=alls=20:allf=t",
                texture(640)
            ),
            Scene::Pan => format!(
                "{},trim=duration={seconds},crop=640:480:x='min(120*t,640)':y=0",
                texture(1280)
            ),
        }
    }
}

/// Where ffmpeg is, or why the clips cannot be made.
pub fn ffmpeg() -> Result<PathBuf, String> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("ffmpeg"))
            .find(|path| path.is_file())
    });
    found.ok_or_else(|| "ffmpeg is not installed (.ci/motion-deps installs it)".to_owned())
}

/// Renders `seconds` of `scene` into `dir` as `0001.jpg`, `0002.jpg`, ... and returns
/// their paths in order.
pub fn render(scene: Scene, seconds: f64, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let ffmpeg = ffmpeg()?;
    let status = Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .arg("-filter_complex")
        .arg(format!("{},format=yuvj420p", scene.graph(seconds)))
        .args([
            "-frames:v",
            &format!("{}", (seconds * f64::from(FPS)) as u32),
        ])
        .args(["-q:v", "5"])
        .arg(dir.join("%04d.jpg"))
        .stdin(Stdio::null())
        .status()
        .map_err(|err| format!("cannot run ffmpeg: {err}"))?;
    if !status.success() {
        return Err(format!("ffmpeg failed ({status}) rendering {scene:?}"));
    }
    let mut frames: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|err| format!("{}: {err}", dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jpg"))
        .collect();
    frames.sort();
    Ok(frames)
}
