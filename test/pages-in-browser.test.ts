/**
 * Every written result page and figure, opened in a real headless browser (Debian's chromium,
 * driven by puppeteer-core): no script or load error, no text of a figure overlapping other text
 * or running off the figure. Skips, saying why, where chromium is not installed (.ci/run installs
 * it). SSLBENCH_SCREENSHOTS=DIR also saves a screenshot of each page there, to look at.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'puppeteer-core';
import { checkPage, findChromium, launchChromium, type PageReport } from './helpers/browser.ts';
import { renderLinePlot } from '../report/svg-plot.ts';
import { renderScatterPlot } from '../report/svg-scatter.ts';
import { lossFigure } from '../report/figures.ts';
import { lossCell } from './helpers/figure-cells.ts';
import { renderSuitePage } from '../report/html.ts';

const RESULTS = path.resolve(import.meta.dirname, '..', 'results');
const chromium = findChromium();
const skip = chromium ? false : 'Debian chromium is not installed (apt-get install chromium; .ci/run does)';
const shots = process.env.SSLBENCH_SCREENSHOTS;

function describeProblems(r: PageReport): string {
  return [
    ...r.errors,
    ...r.problems.map((p) => `${p.figure}: ${p.kind} (${p.size}): ${p.texts.map((t) => JSON.stringify(t.slice(0, 60))).join(' / ')}`),
  ].join('\n  ');
}

describe('result pages in a headless browser', { skip }, () => {
  let browser: Browser;
  let tmp: string;
  before(async () => {
    browser = await launchChromium(chromium!);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-pages-'));
    if (shots) fs.mkdirSync(shots, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });
  const check = (file: string) =>
    checkPage(browser, file, shots ? path.join(shots, `${path.basename(file).replace(/\.\w+$/, '')}.png`) : undefined);

  it('sees what it must fail on: overlapping text, text off the figure, a script error, a malformed SVG', async () => {
    const overlapping = path.join(tmp, 'overlap.svg');
    fs.writeFileSync(
      overlapping,
      '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" font-size="12"><title>bad</title>' +
        '<text x="10" y="40">BYOL</text><text x="20" y="44">SwAV</text><text x="190" y="80">off the edge</text></svg>',
    );
    const r1 = await check(overlapping);
    assert.deepEqual(
      r1.problems.map((p) => [p.kind, p.texts.join(' / ')]),
      [
        ['outside', 'off the edge'],
        ['overlap', 'BYOL / SwAV'],
      ],
    );
    const throwing = path.join(tmp, 'throws.html');
    fs.writeFileSync(throwing, '<!doctype html><html><body><script>throw new Error("boom")</script></body></html>');
    const r2 = await check(throwing);
    assert.ok(
      r2.errors.some((e) => e.includes('boom')),
      r2.errors.join('; '),
    );
    const broken = path.join(tmp, 'broken.svg');
    fs.writeFileSync(broken, '<svg xmlns="http://www.w3.org/2000/svg"><text>a & b</text></svg>');
    const r3 = await check(broken);
    assert.ok(
      r3.errors.some((e) => e.startsWith('XML parse error')),
      r3.errors.join('; '),
    );
  });

  it('lays out freshly rendered worst cases without overlaps: a cluster of scatter labels, close reference lines, loss panels', async () => {
    const pts = ['MoCo v3', 'SimCLR', 'BYOL', 'SwAV'].flatMap((f, i) => [
      { label: f, group: 'measured', x: 74 + 0.1 * i, y: 73.8 + 0.1 * i },
      { label: f, group: 'paper', x: 74.2 + 0.1 * i, y: 73.9 - 0.1 * i },
    ]);
    const scatter = renderScatterPlot([...pts, { label: 'far', group: 'paper', x: 60, y: 80 }], {
      title: 'Fig. 7 (worst case)',
      xLabel: 'R-50 (%)',
      yLabel: 'ViT-B (%)',
      diagonal: true,
      width: 560,
      height: 520,
    });
    const lines = renderLinePlot(
      [
        {
          label: 'kNN',
          points: [
            [0, 40],
            [1, 60],
            [2, 70],
          ],
        },
      ],
      {
        title: 'floors 0.3 apart',
        xLabel: 'epoch',
        yLabel: 'kNN accuracy (%)',
        hLines: [
          { y: 55.0, label: 'raw pixels 55.0%' },
          { y: 55.3, label: 'random init 55.3%' },
          { y: 55.6, label: 'random init 55.6% (ViT-B)' },
        ],
      },
    );
    const loss = lossFigure({ name: 'w-tiny', title: 'Worst case', preset: 'tiny' }, [
      lossCell('R-50, 800-ep', 'MoCo v3', 17, 15),
      lossCell('R-50, 800-ep', 'SwAV', 4.9, 4.1),
      lossCell('ViT-B, 300-ep', 'MoCo v3', 3.4, 2.7),
      lossCell('ViT-B, 300-ep', 'SwAV', 4.8, 4.4),
    ]);
    assert.match(loss.svg, /class="panel"/);
    const files = { 'scatter.svg': scatter, 'hlines.svg': lines, 'loss.svg': loss.svg };
    for (const [name, svg] of Object.entries(files)) fs.writeFileSync(path.join(tmp, name), svg);
    fs.writeFileSync(
      path.join(tmp, 'page.html'),
      renderSuitePage({
        title: 'Worst case',
        meta: [],
        tables: [],
        figures: Object.entries(files).map(([file, svg]) => ({ file, title: file, caption: file, svg })),
      }),
    );
    for (const name of [...Object.keys(files), 'page.html']) {
      const r = await check(path.join(tmp, name));
      assert.ok(r.figures >= 1, `${name}: no figure found`);
      assert.equal(r.errors.length + r.problems.length, 0, `${name}:\n  ${describeProblems(r)}`);
    }
  });

  it('shows every page and figure under results/ without errors or overlapping labels', async () => {
    const files = fs
      .readdirSync(RESULTS)
      .filter((f) => /\.(html|svg)$/.test(f))
      .sort();
    assert.ok(files.some((f) => f.endsWith('.html')) && files.some((f) => f.endsWith('.svg')), 'results/ holds pages and figures');
    const bad: string[] = [];
    let figures = 0;
    for (const f of files) {
      const r = await check(path.join(RESULTS, f));
      figures += r.figures;
      if (r.errors.length || r.problems.length) bad.push(`${f}:\n  ${describeProblems(r)}`);
      if (f.endsWith('.svg')) assert.equal(r.figures, 1, `${f} renders as one figure`);
    }
    assert.deepEqual(bad, [], bad.join('\n'));
    assert.ok(figures > files.length / 2, `${figures} figures in ${files.length} files`);
  });
});
