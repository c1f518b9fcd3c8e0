//! The detector against clips that ffmpeg renders for the test: an object entering an
//! empty scene must be detected, and soon; a slow brightness ramp, a fade-in, heavy sensor
//! noise and a pan of the whole picture must not be. Each test prints what it measured
//! (detection latency in frames, or the most blocks that changed in one frame).

use ipcam_motion::{Detector, Settings, Verdict};
use ipcam_testkit::clips::{render, Scene};

/// Every verdict of the detector at `sensitivity` over a rendered clip.
fn verdicts(scene: Scene, seconds: f64, sensitivity: u8) -> Vec<Verdict> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let frames = render(scene, seconds, dir.path()).unwrap_or_else(|why| panic!("{why}"));
    assert_eq!(frames.len(), (seconds * 30.0) as usize, "{scene:?} frames");
    let mut detector = Detector::new(Settings {
        sensitivity,
        ..Settings::default()
    });
    frames
        .iter()
        .map(|path| {
            let jpeg = std::fs::read(path).expect("frame");
            detector
                .feed_jpeg(&jpeg)
                .expect("ffmpeg's JPEGs are readable")
        })
        .collect()
}

fn assert_quiet(scene: Scene, sensitivity: u8) {
    let verdicts = verdicts(scene, 4.0, sensitivity);
    let worst = verdicts.iter().map(|v| v.changed_blocks).max().unwrap_or(0);
    let motion_frames = verdicts.iter().filter(|v| v.motion_frame).count();
    println!(
        "{scene:?} at sensitivity {sensitivity}: at most {worst} of 4800 blocks changed, \
         {motion_frames} motion frames"
    );
    let started = verdicts.iter().position(|v| v.started);
    if let Some(at) = started {
        for (n, v) in verdicts
            .iter()
            .enumerate()
            .take(at + 2)
            .skip(at.saturating_sub(6))
        {
            println!("frame {}: {v:?}", n + 1);
        }
    }
    assert_eq!(
        started, None,
        "{scene:?} reported motion at frame {started:?}"
    );
}

#[test]
fn an_object_entering_an_empty_scene_is_detected_within_a_few_frames() {
    let enter_frame = 31;
    for sensitivity in [50, 90] {
        let verdicts = verdicts(Scene::ObjectEnters { enter_frame }, 3.0, sensitivity);
        let started = verdicts
            .iter()
            .position(|v| v.started)
            .map(|index| index as u32 + 1);
        let Some(frame) = started else {
            panic!("no motion detected at sensitivity {sensitivity}");
        };
        assert!(
            frame >= enter_frame,
            "detected at frame {frame}, before the object"
        );
        let latency = frame - enter_frame;
        println!(
            "object entering at frame {enter_frame}: detected at frame {frame} with \
             sensitivity {sensitivity}, latency {latency} frames ({} ms at 30 fps)",
            latency * 1000 / 30
        );
        assert!(latency <= 10, "latency {latency} frames");
        assert!(verdicts[..enter_frame as usize - 1]
            .iter()
            .all(|v| !v.motion_frame));
    }
}

#[test]
fn a_slow_brightness_ramp_is_not_motion() {
    assert_quiet(Scene::BrightnessRamp, 90);
}

#[test]
fn a_fade_in_is_not_motion() {
    assert_quiet(Scene::FadeIn, 90);
}

#[test]
fn sensor_noise_is_not_motion() {
    assert_quiet(Scene::SensorNoise, 90);
}

#[test]
fn a_pan_of_the_whole_picture_is_not_motion() {
    assert_quiet(Scene::Pan, 90);
}
