// The dashboard's campaigns section against the real `irene serve`, on a store holding a
// campaign that `irene campaign submit --local` measured here (two tiny profiles).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, openPage, screenshot } from './support/browser.mjs';
import { repoRoot, startIreneServer } from './support/irene-server.mjs';

const TEST_TIMEOUT = 300_000;
const CAMPAIGN = {
  name: 'dashboard-tiny',
  models: ['google/bert_uncased_L-4_H-256_A-4'],
  batch_sizes: [1],
  seq_lens: [8, 16],
  slurm: { points_per_task: 1 },
  profile: { seconds_per_node: 0.002, rounds: 1, threads: 1 },
};

let scratch;
let server;
let browser;

before(async () => {
  const binary = process.env.IRENE_BIN ? path.resolve(process.env.IRENE_BIN) : path.resolve(repoRoot, 'build/irene');
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'irene-campaign-test-'));
  const file = path.join(scratch, 'campaign.json');
  fs.writeFileSync(file, JSON.stringify(CAMPAIGN));
  const db = `sqlite:${path.join(scratch, 'store.sqlite')}`;
  execFileSync(binary, ['campaign', 'submit', file, '--db', db, '--local'], { stdio: 'pipe' });
  server = await startIreneServer({ db });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe('campaigns', { timeout: TEST_TIMEOUT }, () => {
  test('a measured campaign shows its progress and every point beside its prediction', async () => {
    const page = await openPage(browser, server.baseUrl);
    await page.goto('/');
    await page.click('#campaign-section > summary');
    await page.locator('#campaign-table tbody tr').first().waitFor();

    assert.equal(await page.locator('#campaign-select').inputValue(), CAMPAIGN.name);
    const counts = await page.locator('#campaign-counts').textContent();
    assert.match(counts, /2 of 2 points measured: done 2, failed 0/);
    assert.equal(await page.locator('#campaign-summary .progress-bar[data-status="done"]').count(), 1);

    const rows = page.locator('#campaign-table tbody tr');
    assert.equal(await rows.count(), 2);
    for (let i = 0; i < 2; i += 1) {
      const row = rows.nth(i);
      assert.equal(await row.getAttribute('data-status'), 'done');
      assert.match(await row.locator('.measured-latency').textContent(), /\d/, 'a measured latency');
      assert.match(await row.locator('.predicted-energy').textContent(), /\d.*J/, 'a predicted energy beside it');
    }
    assert.match(await rows.nth(1).getAttribute('data-key'), /s=16/);
    await screenshot(page, '19-campaign');

    // The same numbers as the API's.
    const api = await (await fetch(`${server.baseUrl}/api/campaigns/${CAMPAIGN.name}`)).json();
    assert.equal(api.done, 2);
    assert.ok(api.results.every((p) => p.latency_s > 0 && p.predicted_energy_j > 0));
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });
});
