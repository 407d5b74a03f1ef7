// Opens an executed notebook served by Jupyter in headless Chromium and checks that its images
// render, the way a person would see them.
//
//   node browser_check.mjs URL SCREENSHOT [MIN_IMAGES] [MIN_SVGS]
//
// URL is the notebook page (http://127.0.0.1:PORT/notebooks/NAME.ipynb), SCREENSHOT the PNG to
// write. The check passes when the page shows the notebook, at least MIN_IMAGES (default 1) output
// images have loaded with a natural width above zero, at least MIN_SVGS (default 0) inline SVG
// outputs (charts) are laid out with a non-zero size, and no output area shows an error. Chromium
// is Debian's (/usr/bin/chromium, or CHROMIUM); playwright-core never downloads a browser here.
import { chromium } from 'playwright-core';
import { existsSync } from 'node:fs';

const [url, screenshot, minImagesArg, minSvgsArg] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error('usage: node browser_check.mjs URL SCREENSHOT [MIN_IMAGES]');
  process.exit(2);
}
const minImages = Number(minImagesArg ?? 1);
const minSvgs = Number(minSvgsArg ?? 0);
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.error(`browser check: ${executablePath} not found (make deps-browser installs Debian's chromium)`);
  process.exit(1);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync',
    '--disable-background-networking', '--disable-component-update'],
});
let failed = false;
try {
  // The classic Notebook scrolls inside #site, so a full-page screenshot shows only the first
  // screen: a tall viewport shows the whole notebook instead.
  const page = await browser.newPage({ viewport: { width: 1280, height: 3200 } });
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
  // Classic Notebook renders cells into #notebook-container, JupyterLab into .jp-Notebook.
  await page.waitForSelector('#notebook-container .cell, .jp-Notebook .jp-Cell', { timeout: 60_000 });
  const outputImages = '.output_area img, .jp-OutputArea-output img';
  await page.waitForFunction(
    ([selector, min]) => {
      const images = [...document.querySelectorAll(selector)];
      return images.length >= min && images.every((img) => img.complete);
    },
    [outputImages, minImages],
    { timeout: 60_000 },
  ).catch(() => {});
  const images = await page.$$eval(outputImages, (nodes) =>
    nodes.map((img) => ({ width: img.naturalWidth, height: img.naturalHeight, alt: img.alt })));
  const rendered = images.filter((img) => img.width > 0 && img.height > 0);
  const svgs = await page.$$eval('.output_area svg, .jp-OutputArea-output svg', (nodes) =>
    nodes.filter((svg) => !svg.parentElement.closest('svg'))
      .map((svg) => { const box = svg.getBoundingClientRect(); return { width: box.width, height: box.height }; }));
  const renderedSvgs = svgs.filter((svg) => svg.width > 0 && svg.height > 0);
  const errorOutputs = await page.$$eval('.output_error, .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"] .ansi-red-fg',
    (nodes) => nodes.map((n) => n.textContent.slice(0, 300)));
  // Grow the viewport to the notebook's height (capped) so the screenshot shows every output.
  const height = await page.evaluate(() => {
    const container = document.querySelector('#notebook-container, .jp-Notebook');
    return container ? container.scrollHeight + 200 : 0;
  });
  if (height > 3200) {
    await page.setViewportSize({ width: 1280, height: Math.min(height, 16000) });
    await page.waitForTimeout(500);
  }
  await page.screenshot({ path: screenshot });

  console.log(`browser check: ${images.length} output image(s), ${rendered.length} rendered ` +
    `(natural sizes: ${rendered.map((i) => `${i.width}x${i.height}`).join(', ') || 'none'})`);
  console.log(`browser check: ${svgs.length} inline SVG output(s), ${renderedSvgs.length} laid out ` +
    `(${renderedSvgs.map((s) => `${Math.round(s.width)}x${Math.round(s.height)}`).join(', ') || 'none'})`);
  if (renderedSvgs.length < minSvgs) {
    console.error(`browser check: want at least ${minSvgs} rendered SVG chart(s), got ${renderedSvgs.length}`);
    failed = true;
  }
  if (rendered.length < minImages) {
    console.error(`browser check: want at least ${minImages} rendered image(s), got ${rendered.length}`);
    failed = true;
  }
  if (errorOutputs.length > 0) {
    console.error(`browser check: the page shows error output(s): ${errorOutputs.join(' | ')}`);
    failed = true;
  }
  if (pageErrors.length > 0) {
    console.log(`browser check: page script errors (not fatal): ${pageErrors.join(' | ')}`);
  }
  console.log(`browser check: screenshot ${screenshot}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
