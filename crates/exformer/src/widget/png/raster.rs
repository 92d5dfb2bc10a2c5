//! The canvas: an opaque RGBA pixmap with the drawing primitives the views use (rectangles,
//! paths, lines, rounded rectangles, per-pixel blending) and PNG encoding.

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

    pub(super) fn encode(&self) -> Option<Vec<u8>> {
        self.pm.encode_png().ok()
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
