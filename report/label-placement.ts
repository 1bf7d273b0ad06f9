/**
 * Where to put a label beside each point of a scatter plot so that no two labels overlap and no
 * label covers a point: greedy, in the order given, each label takes the free spot nearest its
 * point among many to its right, its left, above and below (one away from the point is drawn with a
 * leader line back to it). Text boxes are estimated from the character count (no font metrics in
 * Node), with a margin; the browser test checks the result as a browser lays it out.
 */

export interface LabelItem {
  /** the point, in pixels */
  x: number;
  y: number;
  text: string;
}

export interface PlacedLabel {
  /** the text's anchor point (SVG x, baseline y) and anchor */
  x: number;
  y: number;
  anchor: 'start' | 'middle' | 'end';
  /** true when the label sits away from its point and needs a line back to it */
  leader: boolean;
  /** the estimated box the text occupies */
  box: Box;
}

export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface LabelMetrics {
  fontSize: number;
  /** estimated width of a character */
  charW: number;
  /** radius of the drawn points (labels keep clear of them) */
  pointR: number;
}

const intersects = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
const inside = (a: Box, b: Box) => a.left >= b.left && a.right <= b.right && a.top >= b.top && a.bottom <= b.bottom;

/** A label's candidate box beside its point: its box's top-left corner offset from the point, and anchor. */
interface Spot {
  dx: number;
  dy: number;
  anchor: PlacedLabel['anchor'];
  /** distance from the point to the nearest edge of the box */
  dist: number;
}

/**
 * Every candidate spot for a w x h label, nearest first: beside the point on the right and the left,
 * stepping up and down by half a text height and outwards by 10 px; centred above and below it.
 */
function spots(w: number, h: number): Spot[] {
  const out: Spot[] = [];
  const gap = 7;
  const distTo = (dx: number, dy: number) => {
    const ex = Math.max(dx, 0, -(dx + w));
    const ey = Math.max(dy, 0, -(dy + h));
    return Math.hypot(ex, ey);
  };
  for (const side of [1, -1]) {
    for (const hx of [0, 10, 20, 30, 45, 60]) {
      for (let v = -8; v <= 8; v++) {
        const dx = side > 0 ? gap + hx : -gap - hx - w;
        const dy = -h / 2 + v * (h / 2 + 0.5);
        out.push({ dx, dy, anchor: side > 0 ? 'start' : 'end', dist: distTo(dx, dy) });
      }
    }
  }
  for (let j = 0; j < 6; j++) {
    out.push({ dx: -w / 2, dy: -gap - h - j * (h + 1), anchor: 'middle', dist: gap + j * (h + 1) });
    out.push({ dx: -w / 2, dy: gap + j * (h + 1), anchor: 'middle', dist: gap + j * (h + 1) });
  }
  // nearest first; among equals, the order above (right before left, then upwards)
  return out
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.dist - b.s.dist || a.i - b.i)
    .map((x) => x.s);
}

export function placeLabels(items: LabelItem[], bounds: Box, m: LabelMetrics): PlacedLabel[] {
  const h = m.fontSize + 2;
  const pad = 3;
  const taken: Box[] = items.map((p) => ({ left: p.x - m.pointR, top: p.y - m.pointR, right: p.x + m.pointR, bottom: p.y + m.pointR }));
  const placed: PlacedLabel[] = [];
  for (const it of items) {
    const w = Math.max(1, it.text.length) * m.charW;
    let best: PlacedLabel | undefined;
    for (const sp of spots(w, h)) {
      const left = it.x + sp.dx,
        top = it.y + sp.dy;
      const box = { left: left - pad, top: top - pad, right: left + w + pad, bottom: top + h + pad };
      if (!inside(box, bounds) || taken.some((t) => intersects(t, box))) continue;
      const x = sp.anchor === 'start' ? left : sp.anchor === 'end' ? left + w : it.x;
      best = { x, y: top + h - 0.25 * m.fontSize - 1, anchor: sp.anchor, leader: sp.dist > 2 * m.pointR + 4, box };
      break;
    }
    if (!best) {
      // nowhere free: right of the point, overlapping (the browser test will say so)
      const box = { left: it.x + 6, top: it.y - h / 2, right: it.x + 6 + w, bottom: it.y + h / 2 };
      best = { x: it.x + 6, y: it.y + h / 2 - 0.25 * m.fontSize - 1, anchor: 'start', leader: false, box };
    }
    taken.push(best.box);
    placed.push(best);
  }
  return placed;
}
