//! The same checks for every encoder compiled in: what comes out decodes to the picture
//! that went in, in every layout, mirrored as asked.

use super::picture::Planes420;
use super::*;
use crate::Mirror;

const WIDTH: u16 = 64;
const HEIGHT: u16 = 48;

/// Quadrant colours (RGB): top left red, top right green, bottom left blue, bottom right
/// white.
const QUADRANTS: [[u8; 3]; 4] = [[200, 30, 30], [30, 200, 30], [30, 30, 200], [230, 230, 230]];

fn quadrant(x: usize, y: usize) -> usize {
    usize::from(x >= usize::from(WIDTH) / 2) + 2 * usize::from(y >= usize::from(HEIGHT) / 2)
}

/// JFIF full-range RGB → YCbCr, written independently of the test pattern's.
fn ycc([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (f64::from(r), f64::from(g), f64::from(b));
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let cb = 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b;
    let cr = 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    [y, cb, cr].map(|v| v.round().clamp(0.0, 255.0) as u8)
}

fn pixel(x: usize, y: usize) -> [u8; 3] {
    ycc(QUADRANTS[quadrant(x, y)])
}

/// The quadrant picture in `layout`, with padding bytes (0xEE) at the end of each row.
fn quadrant_picture(layout: YuvLayout) -> Vec<u8> {
    let (width, height) = (usize::from(WIDTH), usize::from(HEIGHT));
    match layout {
        YuvLayout::Ycc444 => (0..height)
            .flat_map(|y| (0..width).flat_map(move |x| pixel(x, y)))
            .collect(),
        YuvLayout::Yuyv { stride } => {
            let mut data = vec![0xEE; stride * height];
            for y in 0..height {
                for x in (0..width).step_by(2) {
                    let [y0, cb, cr] = pixel(x, y);
                    let y1 = pixel(x + 1, y)[0];
                    data[y * stride + 2 * x..][..4].copy_from_slice(&[y0, cb, y1, cr]);
                }
            }
            data
        }
        YuvLayout::Nv12 { stride } => {
            let mut data = vec![0xEE; stride * (height + height / 2)];
            for y in 0..height {
                for x in 0..width {
                    data[y * stride + x] = pixel(x, y)[0];
                }
            }
            for y in (0..height).step_by(2) {
                for x in (0..width).step_by(2) {
                    let [_, cb, cr] = pixel(x, y);
                    data[(height + y / 2) * stride + x..][..2].copy_from_slice(&[cb, cr]);
                }
            }
            data
        }
    }
}

const LAYOUTS: [YuvLayout; 3] = [
    YuvLayout::Ycc444,
    YuvLayout::Yuyv {
        stride: 2 * WIDTH as usize + 8,
    },
    YuvLayout::Nv12 {
        stride: WIDTH as usize + 4,
    },
];

fn encode<E: JpegEncoder>(data: &[u8], layout: YuvLayout, mirror: Mirror, quality: u8) -> Vec<u8> {
    let picture = YuvPicture {
        data,
        width: WIDTH,
        height: HEIGHT,
        layout,
        mirror,
    };
    let mut jpeg = Vec::new();
    E::default().encode(&picture, quality, &mut jpeg).unwrap();
    jpeg
}

/// Decodes to RGB and returns the mean colour of the middle of each quadrant.
fn quadrant_colours(jpeg: &[u8]) -> [[f64; 3]; 4] {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    let pixels = decoder.decode().expect("a valid JPEG");
    let info = decoder.info().unwrap();
    assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
    let (width, height) = (usize::from(WIDTH), usize::from(HEIGHT));
    std::array::from_fn(|q| {
        let (left, top) = ((q % 2) * width / 2, (q / 2) * height / 2);
        let mut sum = [0.0; 3];
        let mut count = 0.0;
        for y in top + 6..top + height / 2 - 6 {
            for x in left + 6..left + width / 2 - 6 {
                for (c, total) in sum.iter_mut().enumerate() {
                    *total += f64::from(pixels[(y * width + x) * 3 + c]);
                }
                count += 1.0;
            }
        }
        sum.map(|s| s / count)
    })
}

fn assert_colours(jpeg: &[u8], expected_quadrants: [usize; 4], what: &str) {
    let colours = quadrant_colours(jpeg);
    for (q, &source) in expected_quadrants.iter().enumerate() {
        let expected = QUADRANTS[source];
        for c in 0..3 {
            assert!(
                (colours[q][c] - f64::from(expected[c])).abs() < 12.0,
                "{what}: quadrant {q} is {:?}, expected {expected:?}",
                colours[q]
            );
        }
    }
}

fn every_layout_decodes_to_the_picture<E: JpegEncoder>() {
    for layout in LAYOUTS {
        let data = quadrant_picture(layout);
        let jpeg = encode::<E>(&data, layout, Mirror::default(), 90);
        assert_colours(&jpeg, [0, 1, 2, 3], &format!("{} {layout:?}", E::NAME));
    }
}

fn mirroring_swaps_the_quadrants<E: JpegEncoder>() {
    let cases = [
        (true, false, [1, 0, 3, 2]),
        (false, true, [2, 3, 0, 1]),
        (true, true, [3, 2, 1, 0]),
    ];
    for layout in LAYOUTS {
        let data = quadrant_picture(layout);
        for (horizontal, vertical, expected) in cases {
            let mirror = Mirror {
                horizontal,
                vertical,
            };
            let jpeg = encode::<E>(&data, layout, mirror, 90);
            assert_colours(
                &jpeg,
                expected,
                &format!("{} {layout:?} {mirror:?}", E::NAME),
            );
        }
    }
}

fn lower_quality_is_smaller<E: JpegEncoder>() {
    // Noise, so that quality matters.
    let data: Vec<u8> = (0..usize::from(WIDTH) * usize::from(HEIGHT) * 3)
        .map(|i| (i * 7919 % 251) as u8)
        .collect();
    let fine = encode::<E>(&data, YuvLayout::Ycc444, Mirror::default(), 95);
    let coarse = encode::<E>(&data, YuvLayout::Ycc444, Mirror::default(), 30);
    assert!(coarse.len() < fine.len(), "{} {}", coarse.len(), fine.len());
}

fn a_short_buffer_is_refused_and_nothing_written<E: JpegEncoder>() {
    for layout in LAYOUTS {
        let data = quadrant_picture(layout);
        let picture = YuvPicture {
            data: &data[..data.len() - 20],
            width: WIDTH,
            height: HEIGHT,
            layout,
            mirror: Mirror::default(),
        };
        let mut jpeg = b"kept".to_vec();
        let err = E::default().encode(&picture, 80, &mut jpeg).unwrap_err();
        assert!(matches!(err, EncodeError::ShortPicture { .. }), "{err:?}");
        assert_eq!(jpeg, b"kept");
    }
    let odd = YuvPicture {
        data: &[0; 64],
        width: 3,
        height: 2,
        layout: YuvLayout::Yuyv { stride: 6 },
        mirror: Mirror::default(),
    };
    let err = E::default().encode(&odd, 80, &mut Vec::new()).unwrap_err();
    assert!(matches!(err, EncodeError::BadLayout { .. }), "{err:?}");
}

fn frames_of_a_stream_reuse_the_encoder<E: JpegEncoder>() {
    let mut encoder = E::default();
    let layout = LAYOUTS[1];
    let data = quadrant_picture(layout);
    let picture = YuvPicture {
        data: &data,
        width: WIDTH,
        height: HEIGHT,
        layout,
        mirror: Mirror::default(),
    };
    let mut first = Vec::new();
    encoder.encode(&picture, 80, &mut first).unwrap();
    let mut second = b"prefix".to_vec();
    encoder.encode(&picture, 80, &mut second).unwrap();
    assert_eq!(&second[..6], b"prefix", "encoding appends");
    assert_eq!(&second[6..], &first[..], "same picture, same JPEG");
}

fn rows_encode_as_the_picture_does<E: JpegEncoder>() {
    for layout in LAYOUTS {
        let data = quadrant_picture(layout);
        let picture = YuvPicture {
            data: &data,
            width: WIDTH,
            height: HEIGHT,
            layout,
            mirror: Mirror {
                horizontal: true,
                vertical: false,
            },
        };
        let mut jpeg = Vec::new();
        E::default().encode_rows(&picture, 90, &mut jpeg).unwrap();
        assert_colours(
            &jpeg,
            [1, 0, 3, 2],
            &format!("{} rows of {layout:?}", E::NAME),
        );
    }
}

macro_rules! encoder_tests {
    ($module:ident, $encoder:ty) => {
        mod $module {
            #[test]
            fn every_layout_decodes_to_the_picture() {
                super::every_layout_decodes_to_the_picture::<$encoder>();
            }
            #[test]
            fn mirroring_swaps_the_quadrants() {
                super::mirroring_swaps_the_quadrants::<$encoder>();
            }
            #[test]
            fn lower_quality_is_smaller() {
                super::lower_quality_is_smaller::<$encoder>();
            }
            #[test]
            fn a_short_buffer_is_refused_and_nothing_written() {
                super::a_short_buffer_is_refused_and_nothing_written::<$encoder>();
            }
            #[test]
            fn rows_encode_as_the_picture_does() {
                super::rows_encode_as_the_picture_does::<$encoder>();
            }
            #[test]
            fn frames_of_a_stream_reuse_the_encoder() {
                super::frames_of_a_stream_reuse_the_encoder::<$encoder>();
            }
        }
    };
}

encoder_tests!(pure_rust, super::super::PureRust);
#[cfg(feature = "turbojpeg")]
encoder_tests!(turbojpeg, super::super::TurboJpeg);

#[test]
fn planes_420_average_each_block_and_keep_odd_edges() {
    // 3×3 Ycc444: Cb = 10·x + y, Cr = 100.
    let data: Vec<u8> = (0..3)
        .flat_map(|y| (0..3).flat_map(move |x| [(x + 3 * y) as u8, 10 * x as u8 + y as u8, 100]))
        .collect();
    let picture = YuvPicture {
        data: &data,
        width: 3,
        height: 3,
        layout: YuvLayout::Ycc444,
        mirror: Mirror::default(),
    };
    let mut planes = Planes420::default();
    planes.fill(&picture);
    assert_eq!(planes.y, (0..9).collect::<Vec<u8>>());
    // Block (0,0): Cb 0, 10, 1, 11 → 5.5 rounds to 6; the odd edges use what exists.
    assert_eq!(planes.cb, [6, 21, 7, 22]);
    assert_eq!(planes.cr, [100; 4]);
}

#[test]
fn planes_from_rows_equal_planes_from_the_picture() {
    for (width, height) in [(WIDTH, HEIGHT), (5, 3)] {
        let data: Vec<u8> = (0..usize::from(width) * usize::from(height) * 3)
            .map(|i| (i * 37 % 256) as u8)
            .collect();
        let picture = YuvPicture {
            data: &data,
            width,
            height,
            layout: YuvLayout::Ycc444,
            mirror: Mirror::default(),
        };
        let (mut direct, mut by_rows) = (Planes420::default(), Planes420::default());
        direct.fill(&picture);
        by_rows.fill_rows(&picture);
        assert_eq!(
            (direct.y, direct.cb, direct.cr),
            (by_rows.y, by_rows.cb, by_rows.cr),
            "{width}x{height}"
        );
    }
}
