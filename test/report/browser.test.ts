// Both HTML modes in a real browser (headless Chromium through playwright-core): every chart has
// data marks, nothing is logged to the console, nothing is fetched from the network, and the
// hostile comm shows as text without firing a dialog. Skipped when /usr/bin/chromium is missing
// (install it with `apt-get install -y chromium`).
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { renderHtml } from '../../src/report/html.js';
import { CHART_NAMES } from '../../src/report/charts.js';
import { HOSTILE_COMM, sampleSummary } from './sample-summary.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`browser tests skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe.skipIf(!haveChromium)('report in headless Chromium', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    dir = await mkdtemp(join(tmpdir(), 'tlbtrace-browser-'));
  });

  afterAll(async () => {
    await browser?.close();
  });

  for (const interactive of [false, true]) {
    it(`${interactive ? 'interactive' : 'static'}: renders every chart, no console error, no request, no dialog`, async () => {
      const path = join(dir, `report-${interactive ? 'interactive' : 'static'}.html`);
      await writeFile(path, await renderHtml(sampleSummary(), { interactive }));
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      const dialogs: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('dialog', async (d) => {
        dialogs.push(d.message());
        await d.dismiss();
      });
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      await page.goto(pathToFileURL(path).href);
      if (interactive) await page.waitForSelector('body[data-charts]', { timeout: 20_000 });
      expect(await page.evaluate(() => document.body.getAttribute('data-charts'))).toBe(interactive ? 'rendered' : null);

      const marks = await page.evaluate((names) => {
        const out: Record<string, number> = {};
        for (const name of names) {
          const svg = document.querySelector(`#fig-${name} svg`);
          out[name] = svg ? svg.querySelectorAll('.role-mark > *').length : -1;
        }
        return out;
      }, [...CHART_NAMES]);
      for (const name of CHART_NAMES) expect(marks[name], `${name}: data marks`).toBeGreaterThan(0);

      // the hostile comm is text in the page, not an element
      expect(await page.locator('#top-mms code', { hasText: HOSTILE_COMM }).count()).toBe(1);
      expect(await page.evaluate(() => document.querySelectorAll('img, [onerror]').length)).toBe(0);

      if (interactive) {
        // hovering a bar shows the tooltip, built from text
        const bar = page.locator('#fig-top-mms svg .role-mark path').first();
        await bar.hover();
        await page.waitForSelector('.vg-tip', { state: 'visible', timeout: 5000 });
        expect(await page.locator('.vg-tip').innerText()).toMatch(/shootdowns/);
      }
      await page.waitForTimeout(200);
      expect(problems).toEqual([]);
      expect(dialogs).toEqual([]);
      expect(requests).toEqual([]);
      await page.close();
    });
  }
});
