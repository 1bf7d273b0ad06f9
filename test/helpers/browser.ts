/**
 * Opens written result pages in a real headless browser (Debian's chromium, driven by
 * puppeteer-core) and reports what a reader would see go wrong: script or load errors, and text of
 * a figure that overlaps other text or runs off the figure's edge. Used by the browser test; the
 * screenshots it can save are for a person to look at.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';

/** The chromium binary on this machine (env CHROMIUM, else `chromium` / `chromium-browser` on PATH), or undefined. */
export function findChromium(): string | undefined {
  const env = process.env.CHROMIUM;
  if (env) {
    if (!fs.existsSync(env)) throw new Error(`CHROMIUM=${env}: no such file`);
    return env;
  }
  for (const name of ['chromium', 'chromium-browser']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    const p = r.stdout.trim();
    if (r.status === 0 && p) return p;
  }
  return undefined;
}

export function launchChromium(executablePath: string): Promise<Browser> {
  return puppeteer.launch({
    executablePath,
    headless: true,
    // root in a container has no user namespace for the sandbox; the pages are our own files
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--font-render-hinting=none'],
  });
}

/** Two pieces of text of one figure whose boxes overlap, or a piece of text outside its figure. */
export interface TextProblem {
  figure: string;
  kind: 'overlap' | 'outside';
  texts: string[];
  /** overlap: the intersection's width x height in CSS pixels; outside: how far out */
  size: string;
}

export interface PageReport {
  file: string;
  errors: string[];
  figures: number;
  problems: TextProblem[];
}

/**
 * In the page: every <svg>'s <text> boxes (as laid out, transforms applied), pairwise. Two boxes
 * that intersect by more than `tol` pixels each way are an overlap; a box more than `tol` outside
 * its <svg>'s box is off the figure. Plain JavaScript in a string: a compiled function could carry
 * the TypeScript loader's helpers, which do not exist in the page.
 */
const TEXT_PROBLEMS_IN_PAGE = `(tol) => {
  const problems = [];
  const svgs = Array.from(document.querySelectorAll('svg')).filter((s) => !(s.parentElement && s.parentElement.closest('svg')));
  svgs.forEach((svg, si) => {
    const t0 = svg.querySelector('title');
    const name = (t0 && t0.textContent) || 'figure ' + (si + 1);
    const frame = svg.getBoundingClientRect();
    const boxes = Array.from(svg.querySelectorAll('text'))
      .map((t) => ({ text: (t.textContent || '').trim(), r: t.getBoundingClientRect() }))
      .filter((b) => b.text && b.r.width > 0 && b.r.height > 0);
    for (const b of boxes) {
      const out = Math.max(frame.left - b.r.left, b.r.right - frame.right, frame.top - b.r.top, b.r.bottom - frame.bottom);
      if (out > tol) problems.push({ figure: name, kind: 'outside', texts: [b.text], size: out.toFixed(1) + ' px' });
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i].r, b = boxes[j].r;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > tol && h > tol)
          problems.push({ figure: name, kind: 'overlap', texts: [boxes[i].text, boxes[j].text], size: w.toFixed(1) + ' x ' + h.toFixed(1) + ' px' });
      }
    }
  });
  return { figures: svgs.length, problems };
}`;

/** Loads `file` (an .html or .svg) and checks it; saves a full-page screenshot to `screenshot` when given. */
export async function checkPage(browser: Browser, file: string, screenshot?: string, tol = 1): Promise<PageReport> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console error: ${m.text()}`);
  });
  page.on('requestfailed', (r) => errors.push(`failed to load ${r.url()}: ${r.failure()?.errorText ?? '?'}`));
  try {
    await page.setViewport({ width: 1100, height: 800 });
    const res = await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    if (res && !res.ok()) errors.push(`load status ${res.status()}`);
    // an SVG file that is not well-formed XML renders as Chromium's parser-error page
    const parseError = (await page.evaluate(
      "(() => { const e = document.querySelector('parsererror'); return e ? e.textContent : null; })()",
    )) as string | null;
    if (parseError) errors.push(`XML parse error: ${parseError.slice(0, 200)}`);
    const { figures, problems } = (await page.evaluate(`(${TEXT_PROBLEMS_IN_PAGE})(${Number(tol)})`)) as {
      figures: number;
      problems: TextProblem[];
    };
    if (screenshot) await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
    return { file, errors, figures, problems };
  } finally {
    await page.close();
  }
}
