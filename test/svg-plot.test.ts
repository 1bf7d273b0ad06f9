import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PALETTE, escapeXml, layoutPlot, niceTicks, renderLinePlot, scaleX, scaleY, splitFinite, type Series } from '../report/svg-plot.ts';

/**
 * A minimal XML well-formedness check: tags balance, every attribute is quoted, text and
 * attribute values hold no raw `<` and only `&` entities. Throws with the reason.
 */
function checkXml(xml: string): void {
  const stack: string[] = [];
  const entity = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/y;
  const checkAmp = (s: string, where: string) => {
    for (let i = s.indexOf('&'); i >= 0; i = s.indexOf('&', i + 1)) {
      entity.lastIndex = i;
      if (!entity.test(s)) throw new Error(`bare & in ${where}: ${s.slice(i, i + 20)}`);
    }
  };
  let i = 0;
  let roots = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = lt < 0 ? xml.slice(i) : xml.slice(i, lt);
    if (text.includes('>')) throw new Error(`stray > in text: ${text}`);
    checkAmp(text, 'text');
    if (!stack.length && text.trim()) throw new Error(`text outside the root: ${text}`);
    if (lt < 0) break;
    if (xml.startsWith('<?', lt)) {
      const end = xml.indexOf('?>', lt);
      if (end < 0 || lt !== 0) throw new Error('bad or misplaced processing instruction');
      i = end + 2;
      continue;
    }
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt);
      if (end < 0) throw new Error('unclosed comment');
      i = end + 3;
      continue;
    }
    const gt = xml.indexOf('>', lt);
    if (gt < 0) throw new Error('unclosed tag');
    const body = xml.slice(lt + 1, gt);
    if (body.includes('<')) throw new Error(`< inside a tag: ${body}`);
    if (body.startsWith('/')) {
      const name = body.slice(1).trim();
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
    } else {
      const self = body.endsWith('/');
      const m = /^([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*="[^"]*")*)\s*\/?$/.exec(body);
      if (!m) throw new Error(`malformed tag: <${body}>`);
      const attrs = [...m[2].matchAll(/([\w:.-]+)="([^"]*)"/g)];
      const names = attrs.map((a) => a[1]);
      if (new Set(names).size !== names.length) throw new Error(`duplicate attribute in <${body}>`);
      for (const a of attrs) checkAmp(a[2], `attribute ${a[1]}`);
      if (!stack.length) roots++;
      if (!self) stack.push(m[1]);
    }
    i = gt + 1;
  }
  if (stack.length) throw new Error(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
}

const polylines = (svg: string) =>
  [...svg.matchAll(/<polyline points="([^"]*)"/g)].map((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));

const runs: Series[] = [
  {
    label: 'bs 1024',
    points: [
      [0, 0.05],
      [50, 0.3],
      [100, 0.55],
      [300, 0.71],
    ],
  },
  {
    label: 'bs 4096',
    points: [
      [0, 0.05],
      [50, 0.25],
      [100, 0.5],
      [300, 0.69],
    ],
    dashed: true,
  },
];
const base = { title: 'Fig. 1: batch size', xLabel: 'epochs', yLabel: 'kNN accuracy' };

describe('checkXml (the test helper itself)', () => {
  it('rejects what is not well-formed', () => {
    checkXml('<?xml version="1.0"?>\n<a x="1"><b/><c>t &amp; u</c></a>');
    for (const bad of ['<a><b></a></b>', '<a>', '<a>x & y</a>', '<a x="<"/>', '<a x=1/>', '<a/><b/>', '<a x="1" x="2"/>']) {
      assert.throws(() => checkXml(bad), Error, bad);
    }
  });
});

describe('renderLinePlot', () => {
  it('is well-formed XML with a root <svg> and one polyline per series', () => {
    const svg = renderLinePlot(runs, { ...base, hLines: [{ y: 0.76, label: 'paper 76.5' }] });
    checkXml(svg);
    assert.match(svg, /^<\?xml[^>]*\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="640" height="400"/);
    assert.equal(polylines(svg).length, 2);
    assert.match(svg, /paper 76\.5/);
    assert.match(svg, /stroke-dasharray="6 4"/); // the dashed series
  });

  it('escapes XML special characters in every text', () => {
    const nasty = 'a<b & "c" \'d\'>';
    const esc = 'a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;';
    const svg = renderLinePlot(
      [
        {
          label: nasty,
          points: [
            [0, 1],
            [1, 2],
          ],
        },
      ],
      {
        title: `T ${nasty}`,
        xLabel: `X ${nasty}`,
        yLabel: `Y ${nasty}`,
        hLines: [{ y: 1.5, label: `H ${nasty}` }],
      },
    );
    checkXml(svg);
    assert.ok(!svg.includes(nasty));
    for (const prefix of ['T ', 'X ', 'Y ', 'H ', '']) assert.ok(svg.includes(`>${prefix}${esc}<`), `text ${prefix}`);
    assert.ok(svg.includes(`data-label="${esc}"`));
    // Control characters are not allowed in XML 1.0 at all.
    assert.equal(escapeXml('a\u0001b\u001Fc\td'), 'abc\td');
  });

  it('maps data to pixels: explicit ranges land on the plot edges', () => {
    const series: Series[] = [
      {
        label: 's',
        points: [
          [0, 0],
          [50, 0.25],
          [100, 1],
        ],
      },
    ];
    const opts = { ...base, xMin: 0, xMax: 100, yMin: 0, yMax: 1 };
    const l = layoutPlot(series, opts);
    assert.deepEqual([l.x.min, l.x.max, l.y.min, l.y.max], [0, 100, 0, 1]);
    const [line] = polylines(renderLinePlot(series, opts));
    const { left, right, top, bottom } = l.plot;
    assert.ok(left > 0 && right <= 640 && top > 0 && bottom < 400 && left < right && top < bottom);
    assert.deepEqual(line[0], [left, bottom]);
    assert.deepEqual(line[2], [right, top]);
    assert.ok(Math.abs(line[1][0] - (left + right) / 2) <= 0.01);
    assert.ok(Math.abs(line[1][1] - (bottom - 0.25 * (bottom - top))) <= 0.01);
  });

  it('maps data to pixels on an automatic (nice) range', () => {
    const l = layoutPlot(runs, base);
    // Data 0..300 x 0.05..0.71: the automatic axes snap outwards to tick multiples.
    assert.deepEqual([l.x.min, l.x.max], [0, 300]);
    assert.deepEqual([l.y.min, l.y.max], [0, 0.8]);
    assert.deepEqual(l.y.ticks, [0, 0.2, 0.4, 0.6, 0.8]);
    const [first] = polylines(renderLinePlot(runs, base));
    const near = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 0.006, `${a} vs ${b}`);
    near(first[0][0], l.plot.left);
    near(first[0][1], l.plot.bottom - (0.05 / 0.8) * (l.plot.bottom - l.plot.top));
    near(first[3][0], l.plot.right);
    near(first[3][1], l.plot.bottom - (0.71 / 0.8) * (l.plot.bottom - l.plot.top));
    near(scaleX(l, 150), (l.plot.left + l.plot.right) / 2);
    near(scaleY(l, 0.4), (l.plot.top + l.plot.bottom) / 2);
  });

  it('breaks the line at NaN / Infinity and keeps a lone point as a dot', () => {
    const pts: [number, number][] = [
      [0, 5],
      [1, 4],
      [2, NaN],
      [3, 3],
      [4, 2.5],
      [5, Infinity],
      [6, 2],
      [7, -Infinity],
    ];
    assert.deepEqual(
      splitFinite(pts).map((r) => r.length),
      [2, 2, 1],
    );
    const svg = renderLinePlot([{ label: 'diverged', points: pts }], base);
    checkXml(svg);
    const lines = polylines(svg);
    assert.equal(lines.length, 2);
    assert.equal(lines[0].length, 2);
    assert.equal(lines[1].length, 2);
    assert.equal((svg.match(/<circle /g) ?? []).length, 1);
    assert.ok(!/NaN|Infinity/.test(svg));
    // The axis range ignores the non-finite values.
    const l = layoutPlot([{ label: 'diverged', points: pts }], base);
    assert.ok(Number.isFinite(l.y.max) && l.y.max <= 6);
  });

  it('handles no series, empty series, a single point and all-equal y', () => {
    for (const s of [
      [],
      [{ label: 'empty', points: [] }],
      [{ label: 'one', points: [[3, 0.5]] }],
      [
        {
          label: 'flat',
          points: [
            [0, 2],
            [10, 2],
          ],
        },
      ],
    ] as Series[][]) {
      const svg = renderLinePlot(s, base);
      checkXml(svg);
      assert.ok(!/NaN|Infinity/.test(svg), JSON.stringify(s));
      const l = layoutPlot(s, base);
      assert.ok(l.y.max > l.y.min && l.x.max > l.x.min, JSON.stringify(s));
      assert.ok(l.y.ticks.length >= 2);
    }
    const flat = layoutPlot(
      [
        {
          label: 'flat',
          points: [
            [0, 2],
            [10, 2],
          ],
        },
      ],
      base,
    );
    assert.ok(flat.y.min < 2 && flat.y.max > 2);
    const [line] = polylines(
      renderLinePlot(
        [
          {
            label: 'flat',
            points: [
              [0, 2],
              [10, 2],
            ],
          },
        ],
        base,
      ),
    );
    assert.equal(line[0][1], line[1][1]);
    assert.ok(line[0][1] > flat.plot.top && line[0][1] < flat.plot.bottom);
    assert.equal((renderLinePlot([{ label: 'one', points: [[3, 0.5]] }], base).match(/<circle /g) ?? []).length, 1);
  });

  it('gives each series a distinct palette colour and a legend entry', () => {
    const many: Series[] = Array.from({ length: 5 }, (_, i) => ({
      label: `lr ${i}`,
      points: [
        [0, i],
        [1, i + 1],
      ],
    }));
    const svg = renderLinePlot(many, base);
    const colours = [...svg.matchAll(/<g class="series"[^>]* stroke="(#[0-9A-Fa-f]{6})"/g)].map((m) => m[1]);
    assert.deepEqual(colours, PALETTE.slice(0, 5));
    const legend = svg.slice(svg.indexOf('<g class="legend">'));
    for (const s of many) assert.ok(legend.includes(`>${s.label}<`));
    // Past the palette, colours repeat with a dash pattern so lines stay distinguishable.
    const l = layoutPlot(
      Array.from({ length: 9 }, (_, i) => ({ label: `${i}`, points: [] })),
      base,
    );
    assert.equal(l.legend[8].color, l.legend[0].color);
    assert.equal(l.legend[0].dash, null);
    assert.notEqual(l.legend[8].dash, null);
  });

  it('is deterministic and prints coordinates with at most 2 decimals', () => {
    const opts = { ...base, hLines: [{ y: 0.765, label: 'paper' }] };
    const a = renderLinePlot(runs, opts);
    const b = renderLinePlot(structuredClone(runs), { ...opts });
    assert.equal(a, b);
    for (const m of a.matchAll(/ (?:x|y|x1|y1|x2|y2|cx|cy|points)="([^"]*)"/g)) {
      for (const n of m[1].split(/[ ,]/)) assert.match(n, /^-?\d+(\.\d{1,2})?$/, m[0]);
    }
    assert.notEqual(a, renderLinePlot(runs, { ...opts, title: 'other' }));
  });

  it('honours size and explicit ranges, and rejects bad ones', () => {
    const svg = renderLinePlot(runs, { ...base, width: 800, height: 300 });
    assert.match(svg, /<svg [^>]*width="800" height="300" viewBox="0 0 800 300"/);
    assert.throws(() => renderLinePlot(runs, { ...base, yMin: 1, yMax: 0 }), RangeError);
    assert.throws(() => renderLinePlot(runs, { ...base, xMax: NaN }), RangeError);
    assert.throws(() => renderLinePlot(runs, { ...base, width: 0 }), RangeError);
    // Only yMin given: the top still comes from the data.
    const l = layoutPlot(runs, { ...base, yMin: 0.5 });
    assert.equal(l.y.min, 0.5);
    assert.ok(l.y.max >= 0.71);
  });
});

describe('niceTicks', () => {
  it('uses 1/2/5 x 10^k steps within the range', () => {
    assert.deepEqual(niceTicks(0, 0.83), [0, 0.2, 0.4, 0.6, 0.8]);
    assert.deepEqual(niceTicks(0, 300), [0, 50, 100, 150, 200, 250, 300]);
    assert.deepEqual(niceTicks(0, 100, 5), [0, 20, 40, 60, 80, 100]);
    assert.deepEqual(niceTicks(-1, 1, 4), [-1, -0.5, 0, 0.5, 1]);
    assert.deepEqual(niceTicks(3.1, 3.9, 4), [3.2, 3.4, 3.6, 3.8]);
    assert.deepEqual(niceTicks(0.001, 0.0042, 3), [0.001, 0.002, 0.003, 0.004]);
    assert.deepEqual(niceTicks(1, 1), [1]);
  });

  it('labels ticks with the decimals of the step', () => {
    const l = layoutPlot(
      [
        {
          label: 's',
          points: [
            [0, 0],
            [1, 0.83],
          ],
        },
      ],
      base,
    );
    assert.deepEqual(l.y.labels, ['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    assert.deepEqual(l.x.labels.slice(0, 3), ['0.0', '0.2', '0.4']);
  });
});
