// Drives chromium through the portal page: node portal.mjs BASE_URL SCREENSHOT_DIR IMAGE AUDIO [CHROMIUM]
// Prints one JSON line of what the page showed; the C# test (BrowserTests) checks it and the fake systemd's calls.
import { chromium } from 'playwright-core';

const [base, shots, image, audio, executable = '/usr/bin/chromium'] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: executable, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const out = { console: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('console', (m) => { if (m.type() === 'error') out.console.push(m.text()); });
  page.on('pageerror', (e) => out.console.push('pageerror: ' + e.message));
  await page.goto(base, { waitUntil: 'load' });
  await page.waitForSelector('.card[data-service="hailo-whisper"] dd', { timeout: 15000 });
  await page.waitForFunction(() => document.querySelectorAll('.panel').length >= 6, null, { timeout: 15000 });
  out.cards = await page.$$eval('.card', (cs) => cs.map((c) => ({ service: c.dataset.service, state: c.querySelector('.state').textContent })));
  await page.waitForSelector('#npu li', { timeout: 15000 });
  out.npu = await page.$$eval('#npu li', (ls) => ls.map((l) => ({ result: l.dataset.result, text: l.textContent })));
  await page.screenshot({ path: `${shots}/portal-cards.png`, fullPage: true });

  // Stop one service with its button.
  const whisper = page.locator('.card[data-service="hailo-whisper"]');
  await whisper.locator('button[data-action="stop"]').click();
  await whisper.locator('.message.ok').waitFor({ timeout: 15000 });
  out.stopMessage = await whisper.locator('.message').textContent();
  await page.waitForFunction(() => document.querySelector('.card[data-service="hailo-whisper"] .state').textContent.startsWith('inactive'), null, { timeout: 15000 });
  out.whisperStateAfterStop = await whisper.locator('.state').textContent();

  // polkit refuses hailo-scrfd (the test's fake systemd says so): the card says it, in its refusal style.
  const scrfd = page.locator('.card[data-service="hailo-scrfd"]');
  await scrfd.locator('button[data-action="start"]').click();
  await scrfd.locator('.message.refused').waitFor({ timeout: 15000 });
  out.refusal = await scrfd.locator('.message.refused').textContent();

  // The log tail.
  const pose = page.locator('.card[data-service="hailo-pose"]');
  await pose.locator('button[data-action="logs"]').click();
  await page.waitForFunction(() => document.querySelector('.card[data-service="hailo-pose"] pre.log').textContent.includes('journalctl'), null, { timeout: 15000 });
  out.log = await pose.locator('pre.log').textContent();

  // Try it: pose (skeleton on a canvas), ocr (boxes and text), depth (the colour map), chat (streamed), speech (audio), transcription.
  const panel = (s) => page.locator(`.panel[data-service="${s}"]`);
  await panel('hailo-pose').locator('input[type=file]').setInputFiles(image);
  await panel('hailo-pose').locator('button').click();
  await panel('hailo-pose').locator('canvas[data-result="pose"]').waitFor({ timeout: 15000 });
  out.poseCount = await panel('hailo-pose').locator('[data-count]').getAttribute('data-count');
  // The fake answers a skeleton line from (4,4) to (12,12) on the grey image: (8,8) lies on it.
  out.posePixel = await panel('hailo-pose').locator('canvas').evaluate((c) => Array.from(c.getContext('2d').getImageData(8, 8, 1, 1).data));
  out.poseBackground = await panel('hailo-pose').locator('canvas').evaluate((c) => Array.from(c.getContext('2d').getImageData(28, 2, 1, 1).data));

  await panel('hailo-ocr').locator('input[type=file]').setInputFiles(image);
  await panel('hailo-ocr').locator('button').click();
  await panel('hailo-ocr').locator('ul.texts li').waitFor({ timeout: 15000 });
  out.ocrText = await panel('hailo-ocr').locator('ul.texts li').textContent();

  await panel('hailo-depth').locator('input[type=file]').setInputFiles(image);
  await panel('hailo-depth').locator('button').click();
  await panel('hailo-depth').locator('img[data-result="depth"]').waitFor({ timeout: 15000 });
  out.depthWidth = await panel('hailo-depth').locator('img').evaluate(async (img) => { await img.decode(); return img.naturalWidth; });

  await panel('hailo-ollama').locator('textarea').fill('hi there');
  await panel('hailo-ollama').locator('button').click();
  await page.waitForFunction(() => document.querySelector('.panel[data-service="hailo-ollama"] .assistant')?.textContent === 'Hello from the stand-in', null, { timeout: 15000 });
  out.chat = await panel('hailo-ollama').locator('.assistant').textContent();

  await panel('hailo-piper').locator('button').click();
  await panel('hailo-piper').locator('audio[data-result="speech"]').waitFor({ state: 'attached', timeout: 15000 });
  out.speechBytes = Number(await panel('hailo-piper').locator('audio').getAttribute('data-bytes'));
  out.speechDuration = await panel('hailo-piper').locator('audio').evaluate((a) => new Promise((resolve) => {
    if (a.readyState >= 1) resolve(a.duration);
    a.addEventListener('loadedmetadata', () => resolve(a.duration));
    a.addEventListener('error', () => resolve(-1));
    setTimeout(() => resolve(-2), 5000);
  }));

  // hailo-whisper was stopped above: its panel says so; start it again through its card, then transcribe.
  await panel('hailo-whisper').locator('input[type=file]').setInputFiles(audio);
  await panel('hailo-whisper').locator('button').click();
  await panel('hailo-whisper').locator('.result .error').waitFor({ timeout: 15000 });
  out.whisperStopped = await panel('hailo-whisper').locator('.result').textContent();
  await whisper.locator('button[data-action="start"]').click();
  await page.waitForFunction(() => document.querySelector('.card[data-service="hailo-whisper"] .message').textContent.includes('start done'), null, { timeout: 15000 });
  await panel('hailo-whisper').locator('button').click();
  await panel('hailo-whisper').locator('[data-result="transcribe"]').waitFor({ timeout: 15000 });
  out.transcript = await panel('hailo-whisper').locator('[data-result="transcribe"]').textContent();

  await page.screenshot({ path: `${shots}/portal-try-it.png`, fullPage: true });
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
