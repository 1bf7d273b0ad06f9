import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Progress, formatDuration, formatNumber, formatRate } from '../core/progress.ts';

/** A fake stream that collects writes, and a clock the test moves by hand (milliseconds). */
function fake(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  const stream = {
    isTTY,
    columns,
    write: (s: string) => {
      writes.push(s);
      return true;
    },
  };
  const clock = { t: 1_000_000 };
  return { writes, stream, clock, now: () => clock.t };
}

/** The text of a write without the TTY control sequences. */
const plain = (s: string) => s.replace(/^\r/, '').replaceAll('\x1b[K', '').replace(/\n$/, '');

describe('formatting', () => {
  it('formats durations as m:ss / h:mm:ss', () => {
    assert.equal(formatDuration(0), '0:00');
    assert.equal(formatDuration(9), '0:09');
    assert.equal(formatDuration(90), '1:30');
    assert.equal(formatDuration(599.6), '10:00');
    assert.equal(formatDuration(3599), '59:59');
    assert.equal(formatDuration(3600), '1:00:00');
    assert.equal(formatDuration(3700), '1:01:40');
    assert.equal(formatDuration(100 * 3600 + 5), '100:00:05');
    assert.equal(formatDuration(NaN), '--:--');
    assert.equal(formatDuration(Infinity), '--:--');
  });

  it('formats numbers: exponent for small floats, 4 significant digits otherwise', () => {
    assert.equal(formatNumber(0.0012), '1.2e-3');
    assert.equal(formatNumber(1.5e-4), '1.5e-4');
    assert.equal(formatNumber(-0.005), '-5.0e-3');
    assert.equal(formatNumber(3.81234), '3.812');
    assert.equal(formatNumber(41), '41');
    assert.equal(formatNumber(41.04), '41.04');
    assert.equal(formatNumber(0.12345), '0.1235');
    assert.equal(formatNumber(123.456), '123.5');
    assert.equal(formatNumber(12345.6), '12346');
    assert.equal(formatNumber(0), '0');
    assert.equal(formatNumber(NaN), 'nan');
    assert.equal(formatNumber(-Infinity), '-inf');
  });

  it('formats rates, switching to s/it for slow steps', () => {
    assert.equal(formatRate(12.34), '12.3 it/s');
    assert.equal(formatRate(2.5), '2.50 it/s');
    assert.equal(formatRate(250.4), '250 it/s');
    assert.equal(formatRate(0.25), '4.00 s/it');
    assert.equal(formatRate(NaN), '-- it/s');
    assert.equal(formatRate(0), '-- it/s');
  });
});

describe('Progress on a TTY', () => {
  it('renders the bar, percentage, count, fields, rate and ETA, redrawn in place', () => {
    const f = fake(true);
    const p = new Progress({ total: 1000, label: 'mocov3 tiny', stream: f.stream, now: f.now, barWidth: 10 });
    f.clock.t += 63_000; // 630 steps in 63 s: 10 it/s, 370 left: 37 s
    p.update(630, { loss: 3.81234, lr: 0.0012, knn: '41.0%' });
    assert.equal(f.writes.length, 1);
    assert.ok(f.writes[0].startsWith('\r') && f.writes[0].endsWith('\x1b[K'));
    assert.equal(plain(f.writes[0]), '[mocov3 tiny] ██████░░░░ 63% 630/1000 loss 3.812 lr 1.2e-3 knn 41.0% | 10.0 it/s ETA 0:37');
  });

  it('floors the percentage so it shows 100% only when done', () => {
    const f = fake(true);
    const p = new Progress({ total: 1000, label: 'x', stream: f.stream, now: f.now, minIntervalMs: 0 });
    f.clock.t += 1000;
    p.update(999);
    assert.match(plain(f.writes[0]), / 99% 999\/1000 /);
    f.clock.t += 1000;
    p.update(1000);
    assert.match(plain(f.writes[1]), / 100% 1000\/1000 .*ETA 0:00$/);
  });

  it('shows an unknown ETA before any time has passed or any step was done', () => {
    const f = fake(true);
    const p = new Progress({ total: 10, label: 'x', stream: f.stream, now: f.now });
    p.update(0);
    assert.match(plain(f.writes[0]), /\| -- it\/s ETA --:--$/);
  });

  it('throttles redraws to minIntervalMs', () => {
    const f = fake(true);
    const p = new Progress({ total: 100, label: 'x', stream: f.stream, now: f.now, minIntervalMs: 200 });
    p.update(1); // the first update always draws
    for (let i = 2; i <= 10; i++) {
      f.clock.t += 50;
      p.update(i);
    }
    // Draws at t = 0, 200 and 400 ms after the first.
    assert.equal(f.writes.length, 3);
    assert.match(plain(f.writes[1]), / 5\/100 /);
    assert.match(plain(f.writes[2]), / 9\/100 /);
  });

  it('keeps fields until replaced, and done() ends the line with the elapsed time', () => {
    const f = fake(true);
    const p = new Progress({ total: 100, label: 'x', stream: f.stream, now: f.now, minIntervalMs: 0 });
    f.clock.t += 10_000;
    p.update(50, { loss: 2.5, knn: '10.0%' });
    f.clock.t += 80_000;
    p.update(100, { loss: 1.25 });
    assert.match(plain(f.writes[1]), / loss 1\.250 knn 10\.0% /);
    p.done({ knn: '41.0%' });
    const last = f.writes.at(-1)!;
    assert.ok(last.startsWith('\r') && last.endsWith('\x1b[K\n'));
    assert.equal(plain(last), '[x] ████████████████████ 100% 100/100 loss 1.250 knn 41.0% | 1.11 it/s in 1:30');
    const n = f.writes.length;
    p.update(100);
    p.done();
    assert.equal(f.writes.length, n, 'nothing after done()');
  });

  it('truncates to the terminal width so a redraw never wraps', () => {
    const f = fake(true, 30);
    const p = new Progress({ total: 10, label: 'a long label', stream: f.stream, now: f.now });
    p.update(5, { loss: 1 });
    assert.equal(Array.from(plain(f.writes[0])).length, 29);
  });
});

describe('Progress without a TTY', () => {
  it('prints a plain line at the first step, then per 10% of progress, not per update', () => {
    const f = fake(false);
    const p = new Progress({ total: 1000, label: 'x', stream: f.stream, now: f.now });
    for (let i = 1; i <= 1000; i++) {
      f.clock.t += 10; // 10 s in all: the 30 s rule never fires
      p.update(i);
    }
    p.done();
    assert.ok(f.writes.every((w) => w.endsWith('\n') && !w.includes('\r') && !w.includes('\x1b')));
    const pcts = f.writes.map((w) => / (\d+)% /.exec(w)![1]);
    assert.deepEqual(pcts, ['0', '10', '20', '30', '40', '50', '60', '70', '80', '90', '100', '100']);
    assert.match(f.writes.at(-1)!, / in 0:10\n$/);
  });

  it('also prints when 30 s have passed without a line', () => {
    const f = fake(false);
    const p = new Progress({ total: 1000, label: 'x', stream: f.stream, now: f.now });
    for (let i = 1; i <= 50; i++) {
      f.clock.t += 2_000; // 50 steps, 100 s, under 10%
      p.update(i);
    }
    // The first step's line (2 s), then 30 s after each line: 32, 62 and 92 s (steps 16, 31, 46).
    assert.deepEqual(
      f.writes.map((w) => / (\d+)\/1000 /.exec(w)![1]),
      ['1', '16', '31', '46'],
    );
  });
});

describe('Progress after a resume', () => {
  it('counts only the steps done in this process for the rate and ETA', () => {
    const f = fake(true);
    const p = new Progress({ total: 1000, label: 'x', stream: f.stream, now: f.now, startAt: 600 });
    f.clock.t += 5_000;
    p.update(650); // 50 steps in 5 s: 10 it/s; 350 left: 35 s (not 650 / 5 = 130 it/s)
    assert.match(plain(f.writes[0]), / 65% 650\/1000 \| 10\.0 it\/s ETA 0:35$/);
  });

  it('starts the non-TTY 10% buckets at the resumed position', () => {
    const f = fake(false);
    const p = new Progress({ total: 100, label: 'x', stream: f.stream, now: f.now, startAt: 55 });
    p.update(56); // the first step of this process: its line
    p.update(59);
    assert.equal(f.writes.length, 1);
    p.update(60);
    assert.equal(f.writes.length, 2);
  });

  it('rejects a bad total', () => {
    assert.throws(() => new Progress({ total: NaN, label: 'x', stream: fake(true).stream }), RangeError);
    assert.throws(() => new Progress({ total: -1, label: 'x', stream: fake(true).stream }), RangeError);
  });
});
