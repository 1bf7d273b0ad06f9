/**
 * A one-line progress display for long runs:
 *
 *   [mocov3 tiny] ████████████░░░░░░░░ 63% 630/1000 loss 3.812 lr 1.2e-3 knn 41.0% | 12.3 it/s ETA 0:31
 *
 * On a TTY the line is redrawn in place (`\r` + clear-to-end), at most every `minIntervalMs`.
 * Elsewhere (CI logs, files) a plain line is printed at the first step (the rate and ETA as soon
 * as they exist), then each time progress crosses another 10% or 30 s have passed since the last
 * line, so a log gets about a dozen lines per run, not thousands.
 *
 * The rate (and so the ETA) counts only steps done by this process: construct with
 * `startAt` = the step a resumed run starts from, and the clock starts at construction.
 */

/** The part of a writable stream that Progress uses; `process.stderr` and test fakes both fit. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type ProgressFields = Record<string, string | number>;

export interface ProgressOptions {
  total: number;
  label: string;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Milliseconds; injectable clock for tests. Default performance.now. */
  now?: () => number;
  /** Minimum time between TTY redraws; default 200 ms. */
  minIntervalMs?: number;
  /** Steps already done when this process started (a resumed run); default 0. */
  startAt?: number;
  /** Characters in the bar; default 20. */
  barWidth?: number;
}

/** Non-TTY policy: a line per this fraction of progress ... */
export const PLAIN_FRACTION = 0.1;
/** ... or after this many milliseconds without one. */
export const PLAIN_INTERVAL_MS = 30_000;

/**
 * Numbers for fields: integers as they are, small (|v| < 0.01) or huge floats in exponent form
 * (1.2e-3), other floats with 4 significant digits (3.812, 41.00, 0.1234).
 */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  const a = Math.abs(v);
  if (a < 1e-2 || a >= 1e6) return v.toExponential(1);
  if (a >= 1e4) return String(Math.round(v));
  return v.toPrecision(4);
}

/** Seconds as m:ss, or h:mm:ss from an hour up (90 -> 1:30, 3700 -> 1:01:40). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Steps per second: "12.3 it/s", or "4.20 s/it" when a step takes longer than a second. */
export function formatRate(perSecond: number): string {
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) return '-- it/s';
  if (perSecond < 1) return `${(1 / perSecond).toPrecision(3)} s/it`;
  if (perSecond >= 100) return `${Math.round(perSecond)} it/s`;
  return `${perSecond.toFixed(perSecond >= 10 ? 1 : 2)} it/s`;
}

export class Progress {
  readonly total: number;
  readonly label: string;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly minIntervalMs: number;
  private readonly startAt: number;
  private readonly barWidth: number;
  private readonly tty: boolean;
  private readonly t0: number;
  private count: number;
  private fields: ProgressFields = {};
  private lastDraw = -Infinity;
  private lastPlainTime: number;
  private lastPlainBucket: number;
  private finished = false;
  private printedFirst = false;

  constructor(opts: ProgressOptions) {
    if (!Number.isFinite(opts.total) || opts.total < 0)
      throw new RangeError(`Progress: total must be a finite number >= 0, got ${opts.total}`);
    this.total = opts.total;
    this.label = opts.label;
    this.stream = opts.stream ?? process.stderr;
    this.now = opts.now ?? (() => performance.now());
    this.minIntervalMs = opts.minIntervalMs ?? 200;
    this.startAt = opts.startAt ?? 0;
    this.barWidth = Math.max(1, Math.floor(opts.barWidth ?? 20));
    this.tty = this.stream.isTTY === true;
    this.t0 = this.now();
    this.count = this.startAt;
    this.lastPlainTime = this.t0;
    this.lastPlainBucket = this.bucket(this.startAt);
  }

  /** Progress reaches `done` steps; `fields` are merged into (and stay in) the line until replaced. */
  update(done: number, fields?: ProgressFields): void {
    if (this.finished) return;
    this.count = done;
    if (fields) Object.assign(this.fields, fields);
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDraw < this.minIntervalMs) return;
      this.lastDraw = t;
      this.stream.write(`\r${this.fit(this.render(t, false))}\x1b[K`);
    } else {
      const b = this.bucket(done);
      const first = !this.printedFirst;
      this.printedFirst = true;
      if (!first && b <= this.lastPlainBucket && t - this.lastPlainTime < PLAIN_INTERVAL_MS) return;
      this.lastPlainBucket = Math.max(b, this.lastPlainBucket);
      this.lastPlainTime = t;
      this.stream.write(`${this.render(t, false)}\n`);
    }
  }

  /** Ends the line: the last state with the elapsed time instead of the ETA, then a newline. Idempotent. */
  done(finalFields?: ProgressFields): void {
    if (this.finished) return;
    this.finished = true;
    if (finalFields) Object.assign(this.fields, finalFields);
    const line = this.render(this.now(), true);
    this.stream.write(this.tty ? `\r${this.fit(line)}\x1b[K\n` : `${line}\n`);
  }

  /** The current line, without control characters (for logs and tests). */
  line(): string {
    return this.render(this.now(), this.finished);
  }

  private fraction(done: number): number {
    if (this.total === 0) return 1;
    return Math.min(1, Math.max(0, done / this.total));
  }

  private bucket(done: number): number {
    return Math.floor(this.fraction(done) / PLAIN_FRACTION + 1e-9);
  }

  /** Keeps a TTY line shorter than the terminal, so `\r` redraws do not wrap. */
  private fit(line: string): string {
    const cols = this.stream.columns;
    if (!cols || cols < 2) return line;
    const chars = Array.from(line);
    return chars.length < cols ? line : chars.slice(0, cols - 1).join('');
  }

  private render(t: number, final: boolean): string {
    const frac = this.fraction(this.count);
    const filled = Math.round(frac * this.barWidth);
    const bar = '█'.repeat(filled) + '░'.repeat(this.barWidth - filled);
    const pct = Math.floor(frac * 100 + 1e-9);
    const parts = [`[${this.label}]`, bar, `${pct}%`, `${this.count}/${this.total}`];
    for (const [k, v] of Object.entries(this.fields)) parts.push(`${k} ${typeof v === 'number' ? formatNumber(v) : v}`);
    const elapsed = (t - this.t0) / 1000;
    const steps = this.count - this.startAt;
    const rate = elapsed > 0 && steps > 0 ? steps / elapsed : NaN;
    let tail = `| ${formatRate(rate)}`;
    if (final) tail += ` in ${formatDuration(elapsed)}`;
    else tail += ` ETA ${formatDuration(rate > 0 ? Math.max(0, this.total - this.count) / rate : NaN)}`;
    return `${parts.join(' ')} ${tail}`;
  }
}
