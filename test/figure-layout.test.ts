/**
 * Figure layout without a browser: scatter labels that keep clear of each other and of the points,
 * reference-line labels that do not stack on each other, and loss plots split into small multiples
 * exactly when one shared axis would flatten a line. (The browser test checks the laid-out pages.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type Box, placeLabels } from '../report/label-placement.ts';
import { hLineLabelY } from '../report/svg-plot.ts';
import { renderPanels } from '../report/svg-panels.ts';
import { lossFigure, squashed } from '../report/figures.ts';
import { lossCell } from './helpers/figure-cells.ts';

const overlap = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
const bounds = { left: 0, top: 0, right: 400, bottom: 300 };
const metrics = { fontSize: 11, charW: 6.6, pointR: 4 };

describe('placeLabels', () => {
  it('gives two labels of coincident points boxes that do not overlap (the Fig. 7 BYOL / SwAV case)', () => {
    const p = placeLabels(
      [
        { x: 200, y: 150, text: 'BYOL' },
        { x: 201, y: 151, text: 'SwAV' },
      ],
      bounds,
      metrics,
    );
    assert.equal(overlap(p[0].box, p[1].box), false);
    // both stay next to their points (no leader line needed), level with them
    for (const l of p) {
      assert.equal(l.leader, false);
      assert.ok(l.box.top < 151 && l.box.bottom > 150, JSON.stringify(l.box));
    }
  });

  it('keeps 12 labels of a tight cluster apart, off every point and inside the plot', () => {
    const items = Array.from({ length: 12 }, (_, i) => ({ x: 200 + (i % 4) * 3, y: 150 + Math.floor(i / 4) * 3, text: `cell ${i}` }));
    const p = placeLabels(items, bounds, metrics);
    for (let i = 0; i < p.length; i++) {
      const b = p[i].box;
      assert.ok(b.left >= 0 && b.right <= 400 && b.top >= 0 && b.bottom <= 300, `label ${i} inside`);
      for (let j = i + 1; j < p.length; j++) assert.equal(overlap(b, p[j].box), false, `labels ${i} and ${j}`);
      for (const q of items) {
        const pt = { left: q.x - 4, top: q.y - 4, right: q.x + 4, bottom: q.y + 4 };
        assert.equal(overlap(b, pt), false, `label ${i} covers a point`);
      }
    }
    assert.ok(
      p.some((l) => l.leader),
      'far spots are drawn with a leader line',
    );
  });

  it('moves a label inward at the plot edge', () => {
    const [p] = placeLabels([{ x: 398, y: 2, text: 'SimCLR' }], bounds, metrics);
    assert.ok(p.box.right <= 400 && p.box.top >= 0, JSON.stringify(p.box));
    assert.equal(p.anchor, 'end');
  });
});

describe('hLineLabelY', () => {
  it('puts labels of lines closer than a text height on different rows', () => {
    const taken: [number, number][] = [];
    const a = hLineLabelY(200, 20, 380, taken);
    const b = hLineLabelY(203, 20, 380, taken);
    assert.equal(a, 196, 'the first just above its line');
    assert.ok(Math.abs(a - b) >= 13, `${a} vs ${b}`);
    // far apart: both above their lines
    const t2: [number, number][] = [];
    assert.deepEqual([hLineLabelY(100, 20, 380, t2), hLineLabelY(200, 20, 380, t2)], [96, 196]);
  });
  it('goes below a line near the top edge', () => {
    assert.equal(hLineLabelY(25, 20, 380, []), 38);
  });
});

const line = (from: number, to: number, n = 50): [number, number][] =>
  Array.from({ length: n }, (_, i) => [i / 10, from + ((to - from) * i) / (n - 1)] as [number, number]);

describe('squashed', () => {
  it('is true when one line spans under a quarter of the shared axis', () => {
    assert.equal(squashed([line(17, 15), line(3.4, 2.7)]), true); // R-50 MoCo v3 (tau 1) beside ViT (tau 0.2)
    assert.equal(squashed([line(7, 4), line(4.5, 1.2)]), false); // SimCLR beside BYOL: both use the axis
    assert.equal(squashed([line(3.4, 2.6)]), false);
    assert.equal(squashed([]), false);
  });
});

describe('lossFigure', () => {
  const suite = { name: 't-tiny', title: 'T', preset: 'tiny' };
  it('draws a matrix whose losses differ in scale as one panel per cell, in table order', () => {
    const cells = [
      lossCell('R-50', 'MoCo v3', 17, 15),
      lossCell('R-50', 'BYOL', 4, 1.2),
      lossCell('ViT-S', 'MoCo v3', 3.4, 2.7),
      lossCell('ViT-S', 'BYOL', 4.2, 1.3),
    ];
    const f = lossFigure(suite, cells);
    const panels = f.svg.match(/<g class="panel">/g) ?? [];
    assert.equal(panels.length, 4);
    const titles = [...f.svg.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((m) => m[1]);
    assert.deepEqual(titles.slice(1), ['R-50 / MoCo v3', 'R-50 / BYOL', 'ViT-S / MoCo v3', 'ViT-S / BYOL']);
    assert.match(f.caption, /one panel per cell/);
    // each panel its own y range: the R-50 MoCo v3 panel's ticks are near 15-17, the ViT-S one's near 3
    const ticks = f.svg
      .split('<g class="panel">')
      .slice(1)
      .map((p) => [...p.matchAll(/text-anchor="end">[\s\S]*?<\/g>/g)][0]?.[0] ?? '');
    assert.match(ticks[0], />16\.0</);
    assert.doesNotMatch(ticks[2], />1[4-7](\.\d)?</);
    assert.match(ticks[2], />3\.\d</);
  });
  it('keeps one plot when the lines share a scale', () => {
    const f = lossFigure(suite, [lossCell('ViT-S', '300-ep', 3.4, 2.7), lossCell('ViT-S', '600-ep', 3.5, 2.4)]);
    assert.equal(f.svg.includes('<g class="panel">'), false);
    assert.match(f.caption, /one line per cell/);
  });
});

describe('renderPanels', () => {
  it('lays panels out in a grid, each at its offset, under one title', () => {
    const panel = (w: number, h: number) =>
      `<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"></svg>\n`;
    const svg = renderPanels([panel(100, 50), panel(120, 60), panel(100, 40)], { title: 'T', columns: 2, gap: 10 });
    const root = /<svg [^>]*>/.exec(svg)?.[0] ?? '';
    assert.match(root, /width="230" height="144"/); // 100 + 10 + 120 wide; 34 title + 60 + 10 + 40 high
    const at = [...svg.matchAll(/<svg x="([\d.]+)" y="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    assert.deepEqual(at, [
      [0, 34],
      [110, 34],
      [0, 104],
    ]);
    assert.equal((svg.match(/<\?xml/g) ?? []).length, 1, 'one XML declaration');
    assert.throws(() => renderPanels([], { title: 'T', columns: 2 }), /no panels/);
  });
});
