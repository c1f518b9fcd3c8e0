//! Reads a baseline JPEG's luma at 1/8 scale, straight from the DC coefficients.
//!
//! The DC coefficient of an 8×8 block is eight times the block's mean (level-shifted),
//! so the luma component's DC values *are* the picture at 1/8 scale: no inverse DCT, no
//! colour conversion, no chroma. The entropy-coded data must still be walked, AC codes
//! included, to stay in step, but their values are skipped rather than stored. That is
//! the cheapest correct way to look at every frame of an MJPEG camera, and it never
//! allocates once the output grid has its size: every table lives in the reader.
//!
//! Supported: baseline and extended sequential Huffman JPEGs (SOF0/SOF1), any sampling
//! factors, restart intervals; what cameras and encoders emit for MJPEG. Progressive and
//! arithmetic-coded files are refused with [`DcError::Unsupported`].

/// Why a JPEG could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DcError {
    /// The data ends or breaks the JPEG syntax.
    #[error("malformed JPEG: {0}")]
    Malformed(&'static str),
    /// A valid JPEG of a kind this reader does not decode.
    #[error("unsupported JPEG: {0}")]
    Unsupported(&'static str),
}

/// The picture at 1/8 scale: one mean luma value (0–255) per 8×8 block, row-major.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LumaGrid {
    /// Blocks across (`ceil(width / 8)`).
    pub cols: usize,
    /// Blocks down (`ceil(height / 8)`).
    pub rows: usize,
    /// `cols * rows` values.
    pub values: Vec<f32>,
}

impl LumaGrid {
    /// Resizes for `cols × rows` blocks; keeps the capacity, so a steady picture size
    /// never allocates again.
    pub fn reshape(&mut self, cols: usize, rows: usize) {
        self.cols = cols;
        self.rows = rows;
        self.values.clear();
        self.values.resize(cols * rows, 0.0);
    }
}

/// A Huffman table as the lookup the decoder uses: a direct table for codes of up to
/// [`FAST_BITS`] bits, and the canonical `maxcode`/`valptr` walk for longer ones.
#[derive(Clone)]
struct Huffman {
    /// Indexed by the next `FAST_BITS` bits: `(length << 8) | symbol`, 0 when longer.
    fast: [u16; 1 << FAST_BITS],
    /// Largest code of each length 1..=16 (`-1` when none), then a sentinel.
    maxcode: [i32; 18],
    /// Index into `symbols` of the first code of each length, minus that code.
    valptr: [i32; 17],
    symbols: [u8; 256],
    /// For AC tables, indexed like `fast`: a coefficient whose code and value bits fit
    /// in `FAST_BITS` together, as `(coefficients advanced << 8) | bits used`; 0 when
    /// not. Skipping a coefficient is then one lookup.
    fast_skip: [u16; 1 << FAST_BITS],
    defined: bool,
}

const FAST_BITS: u32 = 9;

impl Huffman {
    const EMPTY: Huffman = Huffman {
        fast: [0; 1 << FAST_BITS],
        maxcode: [-1; 18],
        valptr: [0; 17],
        symbols: [0; 256],
        fast_skip: [0; 1 << FAST_BITS],
        defined: false,
    };

    /// Builds the table from the 16 code counts and the symbols of a DHT segment.
    fn build(&mut self, counts: &[u8; 16], symbols: &[u8]) -> Result<(), DcError> {
        self.fast = [0; 1 << FAST_BITS];
        self.symbols = [0; 256];
        self.symbols[..symbols.len()].copy_from_slice(symbols);
        let mut code: i32 = 0;
        let mut k: usize = 0;
        for len in 1..=16usize {
            let count = usize::from(counts[len - 1]);
            self.valptr[len] = k as i32 - code;
            if count == 0 {
                self.maxcode[len] = -1;
            } else {
                for _ in 0..count {
                    if len as u32 <= FAST_BITS {
                        let shift = FAST_BITS - len as u32;
                        let first = (code as usize) << shift;
                        let entry = ((len as u16) << 8) | u16::from(self.symbols[k]);
                        self.fast[first..first + (1 << shift)].fill(entry);
                    }
                    code += 1;
                    k += 1;
                }
                self.maxcode[len] = code - 1;
                if code > (1 << len) {
                    return Err(DcError::Malformed("Huffman code lengths overflow"));
                }
            }
            code <<= 1;
        }
        self.maxcode[17] = i32::MAX;
        self.defined = true;
        self.build_fast_skip();
        Ok(())
    }

    fn build_fast_skip(&mut self) {
        for (bits, entry) in self.fast.iter().enumerate() {
            let (len, symbol) = (u32::from(entry >> 8), entry & 0xFF);
            let (run, size) = (symbol >> 4, u32::from(symbol & 15));
            self.fast_skip[bits] = if len > 0 && size > 0 && len + size <= FAST_BITS {
                ((run + 1) << 8) | (len + size) as u16
            } else {
                0
            };
        }
    }
}

/// Bits of the entropy-coded segment, with byte stuffing removed. Past a marker (or the
/// end of the data) it reads zeros, as the standard says a decoder should.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    count: u32,
    /// A marker was reached; no more bytes are taken until the restart is handled.
    at_marker: bool,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Bits {
            data,
            pos,
            acc: 0,
            count: 0,
            at_marker: false,
        }
    }

    #[inline]
    fn fill(&mut self) {
        while self.count <= 56 {
            let byte = if self.at_marker {
                0
            } else {
                match self.data.get(self.pos) {
                    Some(&0xFF) => match self.data.get(self.pos + 1) {
                        Some(0x00) => {
                            self.pos += 2;
                            0xFF
                        }
                        _ => {
                            self.at_marker = true;
                            0
                        }
                    },
                    Some(&byte) => {
                        self.pos += 1;
                        byte
                    }
                    None => {
                        self.at_marker = true;
                        0
                    }
                }
            };
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    #[inline]
    fn peek(&mut self, n: u32) -> u32 {
        if self.count < n {
            self.fill();
        }
        (self.acc >> (64 - n)) as u32
    }

    #[inline]
    fn consume(&mut self, n: u32) {
        self.acc <<= n;
        self.count -= n;
    }

    #[inline]
    fn take(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let value = self.peek(n);
        self.consume(n);
        value
    }

    /// A value of `size` bits, sign-extended as in F.2.2.1 (EXTEND).
    #[inline]
    fn take_signed(&mut self, size: u32) -> i32 {
        if size == 0 {
            return 0;
        }
        let value = self.take(size) as i32;
        if value < (1 << (size - 1)) {
            value - (1 << size) + 1
        } else {
            value
        }
    }

    #[inline]
    fn decode(&mut self, table: &Huffman) -> Result<u8, DcError> {
        let fast = table.fast[self.peek(FAST_BITS) as usize];
        if fast != 0 {
            self.consume(u32::from(fast >> 8));
            return Ok(fast as u8);
        }
        let bits = self.peek(16) as i32;
        for len in (FAST_BITS as usize + 1)..=16 {
            let code = bits >> (16 - len);
            if code <= table.maxcode[len] {
                self.consume(len as u32);
                let index = (table.valptr[len] + code) as usize;
                return Ok(table.symbols[index & 0xFF]);
            }
        }
        Err(DcError::Malformed("bad Huffman code"))
    }

    /// Skips to just past the next RSTn marker and starts a fresh bit buffer.
    fn restart(&mut self) -> Result<(), DcError> {
        self.acc = 0;
        self.count = 0;
        self.at_marker = false;
        while self.pos + 1 < self.data.len() {
            if self.data[self.pos] == 0xFF && (0xD0..=0xD7).contains(&self.data[self.pos + 1]) {
                self.pos += 2;
                return Ok(());
            }
            self.pos += 1;
        }
        Err(DcError::Malformed("missing restart marker"))
    }
}

#[derive(Clone, Copy, Default)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant: usize,
    dc_table: usize,
    ac_table: usize,
}

/// The reusable reader. One per detector thread; every table lives inside it.
pub struct DcReader {
    quant_dc: [u16; 4],
    dc: [Huffman; 4],
    ac: [Huffman; 4],
    components: [Component; 4],
    n_components: usize,
    width: usize,
    height: usize,
    restart_interval: usize,
}

impl Default for DcReader {
    fn default() -> Self {
        DcReader {
            quant_dc: [0; 4],
            dc: [
                Huffman::EMPTY,
                Huffman::EMPTY,
                Huffman::EMPTY,
                Huffman::EMPTY,
            ],
            ac: [
                Huffman::EMPTY,
                Huffman::EMPTY,
                Huffman::EMPTY,
                Huffman::EMPTY,
            ],
            components: [Component::default(); 4],
            n_components: 0,
            width: 0,
            height: 0,
            restart_interval: 0,
        }
    }
}

fn be16(data: &[u8], at: usize) -> Result<usize, DcError> {
    match data.get(at..at + 2) {
        Some(b) => Ok(usize::from(b[0]) << 8 | usize::from(b[1])),
        None => Err(DcError::Malformed("truncated segment")),
    }
}

impl DcReader {
    /// A reader with no tables yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the luma of `jpeg` at 1/8 scale into `out` (reshaped to the picture's
    /// block grid). Tables from an earlier frame are kept, as MJPEG streams that omit
    /// their DHT segment expect.
    pub fn read(&mut self, jpeg: &[u8], out: &mut LumaGrid) -> Result<(), DcError> {
        if jpeg.get(..2) != Some(&[0xFF, 0xD8]) {
            return Err(DcError::Malformed("no SOI marker"));
        }
        self.restart_interval = 0;
        let mut pos = 2;
        let mut seen_frame = false;
        loop {
            while jpeg.get(pos) == Some(&0xFF) && jpeg.get(pos + 1) == Some(&0xFF) {
                pos += 1;
            }
            let (Some(&0xFF), Some(&marker)) = (jpeg.get(pos), jpeg.get(pos + 1)) else {
                return Err(DcError::Malformed("expected a marker"));
            };
            pos += 2;
            if marker == 0xD9 {
                return Err(DcError::Malformed("no scan before EOI"));
            }
            let len = be16(jpeg, pos)?;
            let body = jpeg
                .get(pos + 2..pos + len)
                .ok_or(DcError::Malformed("truncated segment"))?;
            match marker {
                0xC0 | 0xC1 => {
                    self.frame_header(body)?;
                    seen_frame = true;
                }
                0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                    return Err(DcError::Unsupported("only baseline/sequential Huffman"));
                }
                0xC4 => self.huffman_tables(body)?,
                0xDB => self.quant_tables(body)?,
                0xDD => self.restart_interval = be16(body, 0)?,
                0xDA => {
                    if !seen_frame {
                        return Err(DcError::Malformed("scan before frame header"));
                    }
                    return self.scan(jpeg, body, pos + len, out);
                }
                _ => {}
            }
            pos += len;
        }
    }

    fn frame_header(&mut self, body: &[u8]) -> Result<(), DcError> {
        if body.len() < 6 || body[0] != 8 {
            return Err(DcError::Unsupported("only 8-bit samples"));
        }
        self.height = be16(body, 1)?;
        self.width = be16(body, 3)?;
        let n = usize::from(body[5]);
        if n == 0 || n > 4 || body.len() < 6 + 3 * n || self.width == 0 || self.height == 0 {
            return Err(DcError::Malformed("bad frame header"));
        }
        for i in 0..n {
            let c = &body[6 + 3 * i..9 + 3 * i];
            let (h, v) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) || c[2] > 3 {
                return Err(DcError::Malformed("bad component"));
            }
            self.components[i] = Component {
                id: c[0],
                h,
                v,
                quant: usize::from(c[2]),
                ..Component::default()
            };
        }
        self.n_components = n;
        Ok(())
    }

    fn quant_tables(&mut self, mut body: &[u8]) -> Result<(), DcError> {
        while let Some(&pq_tq) = body.first() {
            let id = usize::from(pq_tq & 15);
            let wide = pq_tq >> 4 == 1;
            let size = if wide { 128 } else { 64 };
            if id > 3 || body.len() < 1 + size {
                return Err(DcError::Malformed("bad quantization table"));
            }
            // Only the DC entry (zig-zag position 0) matters here.
            self.quant_dc[id] = if wide {
                u16::from(body[1]) << 8 | u16::from(body[2])
            } else {
                u16::from(body[1])
            };
            body = &body[1 + size..];
        }
        Ok(())
    }

    fn huffman_tables(&mut self, mut body: &[u8]) -> Result<(), DcError> {
        while body.len() >= 17 {
            let (class, id) = (body[0] >> 4, usize::from(body[0] & 15));
            let mut counts = [0u8; 16];
            counts.copy_from_slice(&body[1..17]);
            let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
            if id > 3 || class > 1 || total > 256 || body.len() < 17 + total {
                return Err(DcError::Malformed("bad Huffman table"));
            }
            let table = if class == 0 {
                &mut self.dc[id]
            } else {
                &mut self.ac[id]
            };
            table.build(&counts, &body[17..17 + total])?;
            body = &body[17 + total..];
        }
        if body.is_empty() {
            Ok(())
        } else {
            Err(DcError::Malformed("bad Huffman table"))
        }
    }

    /// Decodes the first scan, which must carry the luma (first) component.
    fn scan(
        &mut self,
        jpeg: &[u8],
        header: &[u8],
        data_start: usize,
        out: &mut LumaGrid,
    ) -> Result<(), DcError> {
        let ns = usize::from(*header.first().ok_or(DcError::Malformed("empty scan"))?);
        if ns == 0 || ns > self.n_components || header.len() < 1 + 2 * ns + 3 {
            return Err(DcError::Malformed("bad scan header"));
        }
        let mut order = [0usize; 4];
        for (i, slot) in order.iter_mut().enumerate().take(ns) {
            let (id, tables) = (header[1 + 2 * i], header[2 + 2 * i]);
            let index = self.components[..self.n_components]
                .iter()
                .position(|c| c.id == id)
                .ok_or(DcError::Malformed("scan names an unknown component"))?;
            let c = &mut self.components[index];
            c.dc_table = usize::from(tables >> 4) & 3;
            c.ac_table = usize::from(tables & 15) & 3;
            if !self.dc[c.dc_table].defined || !self.ac[c.ac_table].defined {
                return Err(DcError::Malformed("scan uses an undefined Huffman table"));
            }
            *slot = index;
        }
        if order[0] != 0 {
            return Err(DcError::Unsupported("the first scan must carry the luma"));
        }
        let h_max = self.components[..self.n_components]
            .iter()
            .map(|c| c.h)
            .max()
            .unwrap_or(1);
        let v_max = self.components[..self.n_components]
            .iter()
            .map(|c| c.v)
            .max()
            .unwrap_or(1);
        let luma = self.components[0];
        // Luma blocks covering the picture (the luma plane may be subsampled itself).
        let luma_w = (self.width * luma.h).div_ceil(h_max);
        let luma_h = (self.height * luma.v).div_ceil(v_max);
        out.reshape(luma_w.div_ceil(8), luma_h.div_ceil(8));
        let (mcus_x, mcus_y, interleaved) = if ns == 1 {
            (out.cols, out.rows, false)
        } else {
            (
                self.width.div_ceil(8 * h_max),
                self.height.div_ceil(8 * v_max),
                true,
            )
        };
        let scale = f32::from(self.quant_dc[luma.quant]) / 8.0;
        let mut bits = Bits::new(jpeg, data_start);
        let mut predictors = [0i32; 4];
        let mut until_restart = self.restart_interval;
        for my in 0..mcus_y {
            for mx in 0..mcus_x {
                if self.restart_interval > 0 {
                    if until_restart == 0 {
                        bits.restart()?;
                        predictors = [0; 4];
                        until_restart = self.restart_interval;
                    }
                    until_restart -= 1;
                }
                for (slot, &index) in order.iter().enumerate().take(ns) {
                    let c = self.components[index];
                    let (bh, bv) = if interleaved { (c.h, c.v) } else { (1, 1) };
                    for by in 0..bv {
                        for bx in 0..bh {
                            let dc = self.block(&mut bits, &c, &mut predictors[slot])?;
                            if slot == 0 {
                                let (col, row) = (mx * bh + bx, my * bv + by);
                                if col < out.cols && row < out.rows {
                                    out.values[row * out.cols + col] =
                                        (dc as f32 * scale + 128.0).clamp(0.0, 255.0);
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Decodes one block: returns its DC coefficient, skips its AC coefficients.
    #[inline]
    fn block(
        &self,
        bits: &mut Bits<'_>,
        c: &Component,
        predictor: &mut i32,
    ) -> Result<i32, DcError> {
        let size = u32::from(bits.decode(&self.dc[c.dc_table])?);
        if size > 11 {
            return Err(DcError::Malformed("bad DC size"));
        }
        *predictor += bits.take_signed(size);
        let ac = &self.ac[c.ac_table];
        let mut k = 1;
        while k < 64 {
            let skip = ac.fast_skip[bits.peek(FAST_BITS) as usize];
            if skip != 0 {
                bits.consume(u32::from(skip & 0xFF));
                k += usize::from(skip >> 8);
                continue;
            }
            let rs = bits.decode(ac)?;
            let (run, size) = (rs >> 4, u32::from(rs & 15));
            if size == 0 {
                if run != 15 {
                    break;
                }
                k += 16;
            } else {
                k += usize::from(run) + 1;
                bits.consume_bits(size);
            }
        }
        Ok(*predictor)
    }
}

impl Bits<'_> {
    #[inline]
    fn consume_bits(&mut self, n: u32) {
        if self.count < n {
            self.fill();
        }
        self.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    use super::*;

    /// A picture with detail at every scale: gradients, a checkerboard, a bright disc.
    fn picture(width: usize, height: usize) -> Vec<u8> {
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                let checker = if (x / 5 + y / 3) % 2 == 0 { 40 } else { 0 };
                let (dx, dy) = (x as i32 - width as i32 / 2, y as i32 - height as i32 / 3);
                let disc = if dx * dx + dy * dy < 400 { 90 } else { 0 };
                let r = (x * 200 / width + checker + disc).min(255) as u8;
                let g = (y * 200 / height + disc).min(255) as u8;
                let b = ((x + y) % 256) as u8;
                rgb.extend_from_slice(&[r, g, b]);
            }
        }
        rgb
    }

    fn encode(
        pixels: &[u8],
        width: usize,
        height: usize,
        color: ColorType,
        sampling: SamplingFactor,
        restart: u16,
    ) -> Vec<u8> {
        let mut jpeg = Vec::new();
        let mut encoder = Encoder::new(&mut jpeg, 85);
        encoder.set_sampling_factor(sampling);
        if restart > 0 {
            encoder.set_restart_interval(restart);
        }
        encoder
            .encode(pixels, width as u16, height as u16, color)
            .expect("encodes");
        jpeg
    }

    /// The reference: jpeg-decoder's own 1/8-scale decode, as luma.
    fn reference(jpeg: &[u8]) -> (usize, usize, Vec<f32>) {
        let mut decoder = jpeg_decoder::Decoder::new(jpeg);
        decoder.read_info().expect("header");
        let info = decoder.info().expect("info");
        let (w, h) = decoder
            .scale(info.width.div_ceil(8), info.height.div_ceil(8))
            .expect("scales");
        let pixels = decoder.decode().expect("decodes");
        let luma = match decoder.info().expect("info").pixel_format {
            jpeg_decoder::PixelFormat::L8 => pixels.iter().map(|&v| f32::from(v)).collect(),
            _ => pixels
                .chunks(3)
                .map(|p| {
                    0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
                })
                .collect(),
        };
        (usize::from(w), usize::from(h), luma)
    }

    fn assert_matches_reference(jpeg: &[u8], tolerance: f32) {
        let mut reader = DcReader::new();
        let mut grid = LumaGrid::default();
        reader.read(jpeg, &mut grid).expect("reads");
        let (w, h, luma) = reference(jpeg);
        assert_eq!((grid.cols, grid.rows), (w, h));
        let worst = grid
            .values
            .iter()
            .zip(&luma)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst <= tolerance, "worst block differs by {worst}");
    }

    #[test]
    fn grey_pictures_match_the_reference_exactly() {
        let (w, h) = (203, 77);
        let rgb = picture(w, h);
        let grey: Vec<u8> = rgb.chunks(3).map(|p| p[0] / 2 + p[1] / 2).collect();
        assert_matches_reference(
            &encode(&grey, w, h, ColorType::Luma, SamplingFactor::R_4_4_4, 0),
            1.0,
        );
        assert_matches_reference(
            &encode(&grey, w, h, ColorType::Luma, SamplingFactor::R_4_4_4, 3),
            1.0,
        );
    }

    #[test]
    fn colour_pictures_match_in_every_sampling_layout() {
        let (w, h) = (640, 480);
        let rgb = picture(w, h);
        for sampling in [
            SamplingFactor::R_4_2_0,
            SamplingFactor::R_4_2_2,
            SamplingFactor::R_4_4_4,
            SamplingFactor::R_4_4_0,
        ] {
            for restart in [0, 7] {
                let jpeg = encode(&rgb, w, h, ColorType::Rgb, sampling, restart);
                // The reference goes through chroma and RGB, rounding on the way.
                assert_matches_reference(&jpeg, 4.0);
            }
        }
    }

    #[test]
    fn odd_sizes_cover_every_pixel() {
        let (w, h) = (101, 59);
        let jpeg = encode(
            &picture(w, h),
            w,
            h,
            ColorType::Rgb,
            SamplingFactor::R_4_2_0,
            0,
        );
        let mut grid = LumaGrid::default();
        DcReader::new().read(&jpeg, &mut grid).expect("reads");
        assert_eq!((grid.cols, grid.rows), (13, 8));
        assert_matches_reference(&jpeg, 4.0);
    }

    #[test]
    fn broken_and_unsupported_files_are_errors() {
        let (w, h) = (64, 48);
        let rgb = picture(w, h);
        let mut grid = LumaGrid::default();
        let mut reader = DcReader::new();
        assert!(matches!(
            reader.read(b"not a jpeg", &mut grid),
            Err(DcError::Malformed(_))
        ));
        let jpeg = encode(&rgb, w, h, ColorType::Rgb, SamplingFactor::R_4_2_0, 0);
        assert!(reader.read(&jpeg[..jpeg.len() / 3], &mut grid).is_err());
        let mut progressive = Vec::new();
        let mut encoder = Encoder::new(&mut progressive, 80);
        encoder.set_progressive(true);
        encoder
            .encode(&rgb, w as u16, h as u16, ColorType::Rgb)
            .expect("encodes");
        assert!(matches!(
            reader.read(&progressive, &mut grid),
            Err(DcError::Unsupported(_))
        ));
        // A truncated scan reads zeros past the end rather than running off it.
        let cut = &jpeg[..jpeg.len() - 40];
        let _ = reader.read(cut, &mut grid);
    }
}
