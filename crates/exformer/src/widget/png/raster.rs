//! The canvas: an opaque RGBA pixmap with the drawing primitives the views use (rectangles,
//! paths, lines, rounded rectangles, per-pixel blending) and PNG encoding (RGB, adaptive filters).

use tiny_skia::{LineCap, Paint, Path, PathBuilder, Pixmap, Rect, Stroke, StrokeDash, Transform};

use super::colour::{Rgb, BG};

/// An opaque RGBA image being drawn (white background).
pub(super) struct Canvas {
    pm: Pixmap,
}

impl Canvas {
    pub(super) fn new(w: u32, h: u32) -> Canvas {
        let w = w.clamp(1, 8192);
        let h = h.clamp(1, 8192);
        let mut pm = Pixmap::new(w, h).unwrap_or_else(|| Pixmap::new(1, 1).expect("1×1 pixmap"));
        pm.fill(BG.color(1.0));
        Canvas { pm }
    }

    #[cfg(test)]
    pub(super) fn width(&self) -> u32 {
        self.pm.width()
    }

    #[cfg(test)]
    pub(super) fn height(&self) -> u32 {
        self.pm.height()
    }

    /// RGB of pixel (x, y) (the image is opaque).
    #[cfg(test)]
    pub(super) fn rgb(&self, x: u32, y: u32) -> Option<Rgb> {
        self.pm
            .pixel(x, y)
            .map(|p| Rgb(p.red(), p.green(), p.blue()))
    }

    /// The PNG: 8-bit RGB (every pixel is opaque, so an alpha channel would only add bytes), each
    /// row with the filter that suits it (adaptive), zlib's default level (its best level gains
    /// ≤ 0.1 % on these images at about 3× the time). A translucent pixel (none is drawn) keeps
    /// the alpha channel.
    pub(super) fn encode(&self) -> Option<Vec<u8>> {
        let px = self.pm.pixels();
        let (colour, bytes): (png::ColorType, Vec<u8>) = if px.iter().all(|p| p.alpha() == 255) {
            // opaque: the premultiplied colour is the colour
            (
                png::ColorType::Rgb,
                px.iter()
                    .flat_map(|p| [p.red(), p.green(), p.blue()])
                    .collect(),
            )
        } else {
            (
                png::ColorType::Rgba,
                px.iter()
                    .flat_map(|p| {
                        let c = p.demultiply();
                        [c.red(), c.green(), c.blue(), c.alpha()]
                    })
                    .collect(),
            )
        };
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, self.pm.width(), self.pm.height());
        enc.set_color(colour);
        enc.set_depth(png::BitDepth::Eight);
        // Per-row filters and zlib's default level: 16–60 % smaller than RGBA at the fast level
        // (what notebooks and shared pages carry), for 10–150 ms per snapshot.
        enc.set_compression(png::Compression::Default);
        enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        let mut w = enc.write_header().ok()?;
        w.write_image_data(&bytes).ok()?;
        w.finish().ok()?;
        Some(out)
    }

    fn paint(c: Rgb, alpha: f32) -> Paint<'static> {
        let mut p = Paint::default();
        p.set_color(c.color(alpha));
        p.anti_alias = true;
        p
    }

    pub(super) fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, c: Rgb, alpha: f32) {
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            self.pm
                .fill_rect(r, &Self::paint(c, alpha), Transform::identity(), None);
        }
    }

    fn fill_path(&mut self, p: &Path, c: Rgb, alpha: f32) {
        self.pm.fill_path(
            p,
            &Self::paint(c, alpha),
            tiny_skia::FillRule::Winding,
            Transform::identity(),
            None,
        );
    }

    pub(super) fn stroke_path(
        &mut self,
        p: &Path,
        c: Rgb,
        alpha: f32,
        width: f32,
        dash: Option<&[f32]>,
    ) {
        let mut st = Stroke {
            width,
            line_cap: LineCap::Round,
            ..Stroke::default()
        };
        if let Some(d) = dash {
            st.line_cap = LineCap::Butt;
            st.dash = StrokeDash::new(d.to_vec(), 0.0);
        }
        self.pm
            .stroke_path(p, &Self::paint(c, alpha), &st, Transform::identity(), None);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn line(
        &mut self,
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
        c: Rgb,
        alpha: f32,
        width: f32,
    ) {
        let mut pb = PathBuilder::new();
        pb.move_to(x0, y0);
        pb.line_to(x1, y1);
        if let Some(p) = pb.finish() {
            let st = Stroke {
                width,
                line_cap: LineCap::Butt,
                ..Stroke::default()
            };
            self.pm
                .stroke_path(&p, &Self::paint(c, alpha), &st, Transform::identity(), None);
        }
    }

    /// Stroke `p` 1 px wide without anti-aliasing (the heatmap's cell grid).
    pub(super) fn grid_lines(&mut self, p: &Path, c: Rgb, alpha: f32) {
        let st = Stroke {
            width: 1.0,
            ..Stroke::default()
        };
        let mut paint = Self::paint(c, alpha);
        paint.anti_alias = false;
        self.pm
            .stroke_path(p, &paint, &st, Transform::identity(), None);
    }

    /// Rounded rectangle: optional fill, optional (colour, alpha, width, dash) outline.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn round_rect(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        r: f32,
        fill: Option<(Rgb, f32)>,
        stroke: Option<(Rgb, f32, f32, Option<&[f32]>)>,
    ) {
        let Some(p) = round_rect_path(x, y, w, h, r) else {
            return;
        };
        if let Some((c, a)) = fill {
            self.fill_path(&p, c, a);
        }
        if let Some((c, a, wd, dash)) = stroke {
            self.stroke_path(&p, c, a, wd, dash);
        }
    }

    #[inline]
    pub(super) fn blend(&mut self, x: i32, y: i32, c: Rgb, a: f32) {
        if x < 0 || y < 0 || x >= self.pm.width() as i32 || y >= self.pm.height() as i32 || a <= 0.0
        {
            return;
        }
        let w = self.pm.width() as usize;
        let o = (y as usize * w + x as usize) * 4;
        let d = self.pm.data_mut();
        let a = a.min(1.0);
        for (k, s) in [c.0, c.1, c.2].into_iter().enumerate() {
            let v = d[o + k] as f32;
            d[o + k] = (v + (s as f32 - v) * a + 0.5) as u8;
        }
        d[o + 3] = 255;
    }

    /// Write an opaque pixel.
    #[inline]
    pub(super) fn put(&mut self, x: u32, y: u32, c: Rgb) {
        if x >= self.pm.width() || y >= self.pm.height() {
            return;
        }
        let o = (y as usize * self.pm.width() as usize + x as usize) * 4;
        let d = self.pm.data_mut();
        d[o] = c.0;
        d[o + 1] = c.1;
        d[o + 2] = c.2;
        d[o + 3] = 255;
    }
}

fn round_rect_path(x: f32, y: f32, w: f32, h: f32, r: f32) -> Option<Path> {
    if !(w > 0.0 && h > 0.0) {
        return None;
    }
    let r = r.min(w / 2.0).min(h / 2.0).max(0.0);
    let k = 0.552_284_8 * r;
    let mut pb = PathBuilder::new();
    pb.move_to(x + r, y);
    pb.line_to(x + w - r, y);
    pb.cubic_to(x + w - r + k, y, x + w, y + r - k, x + w, y + r);
    pb.line_to(x + w, y + h - r);
    pb.cubic_to(x + w, y + h - r + k, x + w - r + k, y + h, x + w - r, y + h);
    pb.line_to(x + r, y + h);
    pb.cubic_to(x + r - k, y + h, x, y + h - r + k, x, y + h - r);
    pb.line_to(x, y + r);
    pb.cubic_to(x, y + r - k, x + r - k, y, x + r, y);
    pb.close();
    pb.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::widget::png::testutil::*;
    use crate::widget::png::{render_image, PngView, Snapshot};

    /// Decodes without transformations: (width, height, colour type, samples).
    fn decode_raw(bytes: &[u8]) -> (u32, u32, png::ColorType, Vec<u8>) {
        let mut reader = png::Decoder::new(bytes).read_info().expect("png header");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("png frame");
        buf.truncate(info.buffer_size());
        (info.width, info.height, info.color_type, buf)
    }

    /// The PNG is 8-bit RGB and holds exactly the canvas's pixels.
    fn assert_png_is_canvas(cv: &Canvas) -> usize {
        let bytes = cv.encode().expect("encodes");
        let (w, h, colour, px) = decode_raw(&bytes);
        assert_eq!((w, h), (cv.width(), cv.height()));
        assert_eq!(colour, png::ColorType::Rgb);
        assert_eq!(px.len(), (w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                let o = ((y * w + x) * 3) as usize;
                let want = cv.rgb(x, y).unwrap();
                assert_eq!(Rgb(px[o], px[o + 1], px[o + 2]), want, "pixel ({x}, {y})");
            }
        }
        // smaller than tiny-skia's RGBA encoding (fast deflate, one row filter)
        assert!(bytes.len() < cv.pm.encode_png().unwrap().len());
        bytes.len()
    }

    #[test]
    fn png_is_rgb_with_the_canvas_pixels() {
        let mut cv = Canvas::new(300, 200);
        cv.fill_rect(10.3, 10.7, 120.0, 50.0, Rgb(200, 30, 30), 0.6);
        cv.round_rect(
            150.0,
            20.0,
            100.0,
            60.0,
            8.0,
            Some((Rgb(30, 160, 60), 0.3)),
            Some((Rgb(0, 0, 0), 1.0, 1.5, Some(&[3.0, 2.0]))),
        );
        cv.line(5.0, 190.0, 295.0, 100.0, Rgb(20, 90, 200), 0.7, 2.5);
        cv.blend(3, 3, Rgb(0, 0, 0), 0.5);
        cv.put(4, 4, Rgb(1, 2, 3));
        assert_png_is_canvas(&cv);

        // every view the snapshot draws
        let texts: Vec<String> = (0..70).map(|i| format!(" w{i}")).collect();
        let tokens = toks(&texts.iter().map(String::as_str).collect::<Vec<_>>());
        let attn = synthetic(4, 70, 7);
        let short = synthetic(4, 13, 7);
        for s in [
            snap(&tokens[..13], 4, &short),
            Snapshot {
                view: PngView::Matrix,
                ..snap(&tokens[..13], 4, &short)
            },
            snap(&tokens, 4, &attn),
        ] {
            assert_png_is_canvas(&render_image(&s).unwrap());
        }
    }

    #[test]
    fn translucent_pixels_keep_the_alpha_channel() {
        let mut cv = Canvas::new(4, 2);
        cv.pm.fill(tiny_skia::Color::from_rgba8(200, 100, 50, 128));
        let (_, _, colour, px) = decode_raw(&cv.encode().unwrap());
        assert_eq!(colour, png::ColorType::Rgba);
        // the same straight-alpha pixels as tiny-skia's own encoder
        assert_eq!(px, decode_raw(&cv.pm.encode_png().unwrap()).3);
    }
}
