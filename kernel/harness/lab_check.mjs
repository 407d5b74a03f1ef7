// The live JupyterLab check (started by lab_check.sh, which serves the notebooks): headless
// Chromium opens JupyterLab, opens each notebook and runs its cells with Shift+Enter through the
// GoNB kernel, as a person would, and checks what appears:
//
//   00_setup     the backend cell names the backend; a grid of real digits renders as an image;
//                then a Go compile error, a wrong dataset name (bad input) and a cell after them
//                (the kernel stayed alive); the latency of small cells, Shift+Enter to output;
//   02_dcgan_tf  the training cell's live dashboard changes while it runs (two different frames or
//                more before the cell ends), then the final grid and the loss curve show; the
//                real-or-fake quiz scores clicks; typing `gan.` + Tab lists gopls completions,
//                Shift+Tab shows a doc comment;
//   05_ssl_gan   the latent-space slider: moving it changes the picture.
//
// Each state is saved as a screenshot under LAB_OUT/screenshots and checked: not blank, the
// expected image present, the expected text visible. Latencies go to LAB_OUT/latency.json.
// Environment: LAB_URL, LAB_TOKEN, LAB_OUT (set by lab_check.sh); CHROMIUM (default
// /usr/bin/chromium: Debian's; playwright-core never downloads a browser here).
import { chromium } from 'playwright-core';
import { existsSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const base = process.env.LAB_URL;
const token = process.env.LAB_TOKEN;
const out = process.env.LAB_OUT;
const notebooks = process.argv.slice(2).map((p) => basename(p));
if (!base || !token || !out || notebooks.length === 0) {
  console.error('usage: LAB_URL=... LAB_TOKEN=... LAB_OUT=... node lab_check.mjs NOTEBOOK...');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.error(`lab check: ${executablePath} not found (make deps-browser installs Debian's chromium)`);
  process.exit(1);
}
// Seconds one cell may run (smoke-sized notebooks).
const cellTimeout = 1000 * Number(process.env.LAB_CELL_TIMEOUT ?? 600);

const failures = [];
const latency = { measured: new Date().toISOString(), ui: 'JupyterLab', cells: [] };
const fail = (message) => { failures.push(message); console.error(`lab check: FAIL ${message}`); };
const say = (message) => console.log(`lab check: ${message}`);

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync',
    '--disable-background-networking', '--disable-component-update'],
});
const viewport = { width: 1400, height: 1100 };
// Each notebook gets a browser window of its own (a fresh context: no tab restored from the last
// notebook, no state left in its storage); page is the current one.
let context = null;
let page = null;
const pageErrors = [];
// A blank page of its own decodes screenshots to check them (no JupyterLab content policy there).
const checker = await (await browser.newContext()).newPage();

// screenshot saves the page and checks that it is not blank (many colours, real contrast).
async function screenshot(name) {
  const path = join(out, 'screenshots', `${name}.png`);
  const png = await page.screenshot({ path, fullPage: true });
  const stats = await checker.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width; canvas.height = img.height;
    const g = canvas.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, img.width, img.height).data;
    const colours = new Set();
    let sum = 0; let sum2 = 0; let n = 0;
    for (let i = 0; i < d.length; i += 4 * 7) {
      const v = (d[i] + d[i + 1] + d[i + 2]) / 3;
      colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      sum += v; sum2 += v * v; n++;
    }
    return { width: img.width, height: img.height, colours: colours.size, std: Math.sqrt(sum2 / n - (sum / n) ** 2) };
  }, png.toString('base64'));
  if (stats.colours < 50 || stats.std < 10) {
    fail(`screenshot ${path} looks blank (${stats.colours} colours, contrast ${stats.std.toFixed(1)})`);
  } else {
    say(`screenshot ${path} (${stats.width}x${stats.height}, ${stats.colours} colours)`);
  }
}

// openNotebook opens a notebook from the served folder and waits for its kernel to be idle.
// Before it, the last notebook's window is closed and every running kernel shut down; the token in
// the URL logs the new window in (a cookie), as the URL `jupyter lab` prints does, and `reset`
// starts it with an empty workspace, so keys go to this notebook's cells alone.
async function openNotebook(name) {
  if (context) await context.close();
  await shutDownKernels();
  context = await browser.newContext({ viewport });
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  await page.goto(`${base}/lab/tree/${encodeURIComponent(name)}?reset&token=${token}`, { waitUntil: 'load', timeout: 120_000 });
  const panel = page.locator('.jp-NotebookPanel:visible').first();
  await panel.locator('.jp-CodeCell .cm-content').first().waitFor({ timeout: 120_000 });
  await kernelAttached(name, 120_000);
  return panel;
}

// kernelAttached waits until the page is connected to the notebook's GoNB kernel: the status bar
// names the kernel (no longer "No Kernel | Initializing", "Connecting" or "Starting") and the
// server counts the page's connection. A Shift+Enter pressed before that is dropped by JupyterLab
// without a word (the cell stays [ ]). JupyterLab shows GoNB's state as "Unknown" until the first
// cell runs: GoNB reports busy and idle only around requests, and JupyterLab ignores those of
// kernel_info_request.
async function kernelAttached(name, timeout) {
  const deadline = Date.now() + timeout;
  let state = '(nothing)';
  for (;;) {
    const text = await page.locator('#jp-main-statusbar').innerText().catch(() => '');
    const match = text.match(/Go \(gonb\)\s*\|\s*(\w+)/);
    state = match ? match[1] : text.replace(/\s+/g, ' ').slice(0, 60);
    if (match && !/^(Initializing|Connecting|Starting|Restarting)$/.test(state)) {
      const sessions = await api('GET', '/api/sessions');
      if (sessions.some((s) => s.path.endsWith(name) && s.kernel && s.kernel.connections > 0)) return;
    }
    const died = await kernelDied();
    if (died) throw new Error(`the kernel died: JupyterLab says "${died.slice(0, 200)}"`);
    if (Date.now() > deadline) throw new Error(`the GoNB kernel of ${name} was not connected within ${timeout / 1000}s (status bar: ${state})`);
    await page.waitForTimeout(200);
  }
}

async function api(method, path) {
  const response = await fetch(`${base}${path}`, { method, headers: { Authorization: `token ${token}` } });
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}`);
  return response.status === 204 ? null : response.json();
}

async function shutDownKernels() {
  for (const session of await api('GET', '/api/sessions')) await api('DELETE', `/api/sessions/${session.id}`);
}

// kernelDied reports JupyterLab's dialog for a dead kernel, if it shows one.
async function kernelDied() {
  const dialog = page.locator('.jp-Dialog');
  if (await dialog.count() === 0) return '';
  const text = (await dialog.first().innerText()).replace(/\s+/g, ' ');
  return /died|restart/i.test(text) ? text : '';
}

async function waitIdle(panel, timeout, what) {
  const indicator = panel.locator('.jp-Notebook-ExecutionIndicator');
  const deadline = Date.now() + timeout;
  for (;;) {
    const status = await indicator.getAttribute('data-status').catch(() => null);
    if (status === 'idle') return;
    const died = await kernelDied();
    if (died) throw new Error(`the kernel died: JupyterLab says "${died.slice(0, 200)}"`);
    if (Date.now() > deadline) throw new Error(`${what} within ${timeout / 1000}s (kernel status ${status})`);
    await page.waitForTimeout(100);
  }
}

const codeCells = (panel) => panel.locator('.jp-CodeCell');
const promptOf = (cell) => cell.locator('.jp-InputPrompt').first().innerText().catch(() => '');
const outputText = async (cell) => (await cell.locator('.jp-OutputArea-output').allInnerTexts()).join('\n');

// runCell focuses a code cell's editor, presses Shift+Enter and waits until the cell has run
// (its prompt shows a new execution number). It returns the seconds from the key press to the
// first output (or to the end, for a cell without output) and to the end.
async function runCell(panel, cell, { timeout = cellTimeout, untilDone = true } = {}) {
  const before = await promptOf(cell);
  await cell.locator('.jp-InputArea-editor').first().click();
  const t0 = Date.now();
  await page.keyboard.press('Shift+Enter');
  if (!untilDone) return {};
  let firstOutput = 0;
  const deadline = t0 + timeout;
  for (;;) {
    if (!firstOutput && await cell.locator('.jp-OutputArea-output').count() > 0) firstOutput = Date.now();
    const prompt = await promptOf(cell);
    if (/\[\d+\]/.test(prompt) && prompt !== before) break;
    if (prompt === before && !prompt.includes('*') && Date.now() - t0 > 10_000) {
      throw new Error(`Shift+Enter did not start the cell: its prompt still reads ${prompt.trim()} after 10s`);
    }
    const died = await kernelDied();
    if (died) throw new Error(`the kernel died: JupyterLab says "${died.slice(0, 200)}"`);
    if (Date.now() > deadline) throw new Error(`a cell ran past ${timeout / 1000}s: ${(await cell.innerText()).slice(0, 120)}`);
    await page.waitForTimeout(20);
  }
  const end = Date.now();
  return { toOutput: ((firstOutput || end) - t0) / 1000, toEnd: (end - t0) / 1000 };
}

// typeInNewCell adds a code cell below the last one and types source into it.
async function typeInNewCell(panel, source) {
  const last = codeCells(panel).last();
  await last.locator('.jp-InputArea-editor').first().click();
  await page.keyboard.press('Escape');
  await page.keyboard.press('b');
  const cell = codeCells(panel).last();
  await cell.locator('.jp-InputArea-editor').first().click();
  await page.keyboard.insertText(source);
  return cell;
}

async function replaceSource(cell, source) {
  await cell.locator('.jp-InputArea-editor').first().click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(source);
}

async function expectText(cell, pattern, what) {
  const text = await outputText(cell);
  if (!pattern.test(text)) {
    fail(`${what}: the output does not show ${pattern}; it shows: ${text.slice(0, 400) || '(nothing)'}`);
    return false;
  }
  const visible = await cell.locator('.jp-OutputArea-output').filter({ hasText: pattern }).first().isVisible();
  if (!visible) fail(`${what}: the text ${pattern} is in the page but not visible`);
  return visible;
}

// renderedImages lists the loaded images in a cell's outputs (natural sizes).
async function renderedImages(cell) {
  const images = await cell.locator('.jp-OutputArea-output img').evaluateAll((nodes) =>
    nodes.map((img) => ({ width: img.naturalWidth, height: img.naturalHeight, complete: img.complete })));
  return images.filter((i) => i.complete && i.width > 0 && i.height > 0);
}

// runAll runs every code cell of a notebook in order, the given one last.
async function runUpTo(panel, last, name) {
  const cells = codeCells(panel);
  for (let i = 0; i < last; i++) {
    const t = await runCell(panel, cells.nth(i));
    say(`${name} code cell ${i + 1}: output after ${t.toOutput.toFixed(2)}s, done after ${t.toEnd.toFixed(2)}s`);
    latency.cells.push({ notebook: name, cell: i + 1, ...t });
  }
}

// codeCellWith returns the index (among code cells) of the first code cell whose source matches
// pattern, read from the notebook file through the server's contents API.
async function codeCellWith(name, pattern) {
  const notebook = await api('GET', `/api/contents/${encodeURIComponent(name)}?content=1`);
  const code = notebook.content.cells.filter((c) => c.cell_type === 'code');
  const index = code.findIndex((c) => pattern.test(Array.isArray(c.source) ? c.source.join('') : c.source));
  if (index < 0) throw new Error(`no code cell of ${name} matches ${pattern}`);
  return index;
}

async function checkSetup(name) {
  const panel = await openNotebook(name);
  const cells = codeCells(panel);
  const backendCell = await codeCellWith(name, /backend\.New\(\)/);
  await runUpTo(panel, backendCell, name);
  const b = await runCell(panel, cells.nth(backendCell));
  latency.firstAdvlabCell = b;
  say(`${name}: the first cell importing advlab answered after ${b.toOutput.toFixed(2)}s`);
  await expectText(cells.nth(backendCell), /Running on: \S+/, `${name} backend cell`);
  const gridCell = await codeCellWith(name, /viz\.Grid\(/);
  for (let i = backendCell + 1; i <= gridCell; i++) await runCell(panel, cells.nth(i));
  const images = await renderedImages(cells.nth(gridCell));
  if (images.length === 0) fail(`${name}: the digit grid did not render as an image`);
  else say(`${name}: digit grid ${images[0].width}x${images[0].height}`);
  await expectText(cells.nth(gridCell), /Labels of the \d+ digits/, `${name} grid cell`);
  await cells.nth(gridCell).scrollIntoViewIfNeeded();
  await screenshot(`${name}-grid`);

  // Small cells, warm: Shift+Enter to output.
  const small = await typeInNewCell(panel, '%%\nfmt.Println("answer", 6*7)');
  const times = [];
  for (let i = 0; i < 5; i++) {
    const t = await runCell(panel, small);
    times.push(t.toOutput);
  }
  await expectText(small, /answer 42/, `${name} small cell`);
  times.sort((a, b) => a - b);
  latency.smallCell = { runs: times, median: times[2] };
  say(`${name}: a cell that prints a value, Shift+Enter to output: median ${times[2].toFixed(2)}s of ${times.map((t) => t.toFixed(2)).join(', ')}`);

  // Errors: a compile error, then bad input, then the kernel still answers.
  await replaceSource(small, '%%\nfmt.Println(undefinedValue)');
  await runCell(panel, small);
  await expectText(small, /undefined: undefinedValue/, `${name} compile error`);
  await screenshot(`${name}-compile-error`);
  await replaceSource(small, '%%\nif _, err := data.Load("mnits", data.Train); err != nil {\npanic(err)\n}');
  await runCell(panel, small);
  await expectText(small, /mnits/, `${name} wrong dataset name`);
  await screenshot(`${name}-bad-input`);
  await replaceSource(small, '%%\nfmt.Println("still alive", 6*7)');
  await runCell(panel, small);
  await expectText(small, /still alive 42/, `${name} cell after the errors`);
}

async function checkTraining(name) {
  const panel = await openNotebook(name);
  const cells = codeCells(panel);
  const train = await codeCellWith(name, /NewGANDashboard\(/);
  await runUpTo(panel, train, name);
  // Watch the training cell: every change to its outputs while its prompt says [*].
  const cell = cells.nth(train);
  await cell.evaluate((node) => {
    window.advlabFrames = [];
    const prompt = () => node.querySelector('.jp-InputPrompt')?.textContent ?? '';
    const record = () => {
      if (!prompt().includes('*')) return;
      const outputs = node.querySelector('.jp-OutputArea');
      if (!outputs) return;
      const images = [...outputs.querySelectorAll('img')].map((img) => img.src.length + ':' + img.src.slice(-32)).join(',');
      const frame = outputs.innerText.trim() + '|' + images;
      if (frame !== '|' && window.advlabFrames.at(-1) !== frame) window.advlabFrames.push(frame);
    };
    new MutationObserver(record).observe(node, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  const t = await runCell(panel, cell);
  const frames = await page.evaluate(() => window.advlabFrames.length);
  say(`${name}: the training cell ran ${t.toEnd.toFixed(1)}s; its dashboard showed ${frames} different frame(s) while running`);
  if (frames < 2) fail(`${name}: the live dashboard showed ${frames} frame(s) while the cell ran, want at least 2`);
  await expectText(cell, /steps; checkpoint in/, `${name} training cell`);
  const gridCell = train + 1;
  const chartCell = train + 2;
  await runCell(panel, cells.nth(gridCell));
  await runCell(panel, cells.nth(chartCell));
  if ((await renderedImages(cells.nth(gridCell))).length === 0) fail(`${name}: the final sample grid did not render`);
  const svgs = await cells.nth(chartCell).locator('.jp-OutputArea-output svg').evaluateAll((nodes) =>
    nodes.map((svg) => svg.getBoundingClientRect()).filter((box) => box.width > 0 && box.height > 0).length);
  if (svgs === 0) fail(`${name}: the loss curve did not render`);
  await cells.nth(gridCell).scrollIntoViewIfNeeded();
  await screenshot(`${name}-trained`);

  // The human judge (real or fake?): Score with nothing marked asks for every picture; marking
  // every picture "real" (one click each) scores exactly the real half, and the reveal colours
  // those tiles as right.
  const quizCell = await codeCellWith(name, /NewRealOrFake\(/);
  for (let i = chartCell + 1; i <= quizCell; i++) await runCell(panel, cells.nth(i));
  const quiz = cells.nth(quizCell);
  const tiles = quiz.locator('.advlab-rof-tile');
  const n = await tiles.count();
  if (n < 2) fail(`${name}: the real-or-fake quiz shows ${n} picture(s)`);
  else {
    await quiz.locator('.advlab-rof-button').click();
    await expectText(quiz, new RegExp(`Mark every picture first: ${n} of ${n} are unmarked`), `${name} quiz before marking`);
    for (let i = 0; i < n; i++) await tiles.nth(i).click();
    await quiz.locator('.advlab-rof-button').click();
    await expectText(quiz, /You judged \d+ of \d+ correctly/, `${name} quiz score`);
    const right = Number(await quiz.locator('.advlab-rof-score').getAttribute('data-right'));
    const reals = await quiz.locator('.advlab-rof-tile[data-truth="real"]').count();
    const green = await quiz.locator('.advlab-rof-right').count();
    if (right !== n / 2 || reals !== n / 2 || green !== n / 2) {
      fail(`${name}: every picture called real scored ${right} of ${n} with ${reals} real and ${green} marked right, want ${n / 2} each`);
    } else say(`${name}: the real-or-fake quiz scored ${right} of ${n} for "all real" and revealed ${reals} real pictures`);
    await quiz.scrollIntoViewIfNeeded();
    await screenshot(`${name}-quiz`);
  }

  // Completion and the inspector, from gopls through GoNB.
  // A person types in a `%%` cell (the body of main) below the cells that import lib/gan.
  const probe = await typeInNewCell(panel, '%%\ngan.');
  await page.keyboard.press('Tab');
  const items = page.locator('.jp-Completer-item');
  await items.first().waitFor({ timeout: 60_000 }).catch(() => {});
  const names = await items.allInnerTexts();
  if (!names.some((n) => /\bNew\b/.test(n))) fail(`${name}: gan. + Tab listed ${names.length} completion(s) without gan.New: ${names.slice(0, 10).join(', ')}`);
  else say(`${name}: gan. + Tab listed ${names.length} completions (${names.slice(0, 5).map((n) => n.trim()).join(', ')}, ...)`);
  await screenshot(`${name}-completion`);
  await page.keyboard.press('Escape');
  await replaceSource(probe, '%%\n_ = gan.New');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Shift+Tab');
  const tooltip = page.locator('.jp-Tooltip');
  await tooltip.first().waitFor({ timeout: 60_000 }).catch(() => {});
  const doc = (await tooltip.allInnerTexts()).join('\n');
  if (!/New/.test(doc) || doc.length < 40) fail(`${name}: Shift+Tab on gan.New showed no doc comment: ${doc.slice(0, 200) || '(nothing)'}`);
  else say(`${name}: Shift+Tab on gan.New: ${doc.replace(/\s+/g, ' ').slice(0, 100)}...`);
  await screenshot(`${name}-inspector`);
  await page.keyboard.press('Escape');
}

async function checkSlider(name) {
  const panel = await openNotebook(name);
  const cells = codeCells(panel);
  const sliderCell = await codeCellWith(name, /display\.Slider\(/);
  await runUpTo(panel, sliderCell, name);
  const cell = cells.nth(sliderCell);
  await runCell(panel, cell, { untilDone: false });
  const slider = cell.locator('input[type=range]');
  await slider.first().waitFor({ timeout: 120_000 });
  const picture = async () => cell.locator('.jp-OutputArea-output img').evaluateAll((nodes) => nodes.map((n) => n.src).join('|'));
  const label = async () => outputText(cell);
  await page.waitForFunction(() => true);
  const deadline = Date.now() + 60_000;
  while ((await picture()) === '' && Date.now() < deadline) await page.waitForTimeout(100);
  const before = await picture();
  // Drag the knob two thirds of the way, as a person would.
  const box = await slider.first().boundingBox();
  await page.mouse.click(box.x + box.width * 0.66, box.y + box.height / 2);
  let after = before;
  const moved = Date.now() + 60_000;
  while (after === before && Date.now() < moved) { await page.waitForTimeout(100); after = await picture(); }
  if (before === '' || after === before) fail(`${name}: moving the slider did not change the picture`);
  else say(`${name}: moving the slider changed the picture (${(await label()).match(/position \d+/)?.[0] ?? ''})`);
  await cell.scrollIntoViewIfNeeded();
  await screenshot(`${name}-slider`);
  // The cell listens until interrupted: Kernel > Interrupt stops it, and the kernel stays.
  await page.keyboard.press('Escape');
  await page.keyboard.press('i');
  await page.keyboard.press('i');
  await waitIdle(panel, 60_000, `${name}: the slider cell did not stop at the interrupt`);
}

const checks = { '00_setup.ipynb': checkSetup, '02_dcgan_tf.ipynb': checkTraining, '05_ssl_gan.ipynb': checkSlider };
try {
  for (const name of notebooks) {
    const check = checks[name];
    if (!check) { fail(`no live check for ${name}`); continue; }
    const start = Date.now();
    try {
      await check(name);
    } catch (err) {
      fail(`${name}: ${String(err.message ?? err).split('\n')[0]}`);
      await screenshot(`${name}-failed`).catch(() => {});
    }
    say(`${name} done in ${((Date.now() - start) / 1000).toFixed(1)}s`);
  }
} finally {
  writeFileSync(join(out, 'latency.json'), JSON.stringify(latency, null, 1) + '\n');
  await browser.close();
}
if (pageErrors.length > 0) say(`page script errors (not fatal): ${pageErrors.slice(0, 5).join(' | ')}`);
say(failures.length === 0 ? `${notebooks.length} notebook(s) passed in JupyterLab` : `${failures.length} failure(s)`);
process.exit(failures.length === 0 ? 0 : 1);
