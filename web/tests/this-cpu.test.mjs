// This CPU in the main view: with a latency model of it in `irene serve --predictors`
// (fitted on its profiles; here one written by hand with a fit's figures), the machine
// list offers it, and its tree gives every node's predicted time, no energy (no meter).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatSeconds } from '../js/format.js';
import { launchBrowser, openPage, screenshot } from './support/browser.mjs';
import { startIreneServer } from './support/irene-server.mjs';

const TEST_TIMEOUT = 120_000;

let server;
let browser;
let predictors;

before(async () => {
  predictors = fs.mkdtempSync(path.join(os.tmpdir(), 'irene-latency-predictors-'));
  // The file `irene train --method roofline` writes from this CPU's profiles, with figures
  // of the size such a fit finds.
  fs.writeFileSync(path.join(predictors, 'this-cpu-latency.json'), JSON.stringify({
    format: 'irene-latency-predictor',
    version: 1,
    method: 'roofline-latency',
    machine: 'this-cpu',
    machine_name: 'the CPU the tests run on',
    memory: { bandwidth_bytes_per_s: 10e9, caches: [] },
    params: {
      gemm_efficiency: 0.5, attention_efficiency: 0.5, other_compute_efficiency: 0.5, transcendental_efficiency: 0.5,
      memory_efficiency: 0.7, compute_memory_overlap: 1.0, kernel_overhead_s: 5e-6, module_overhead_s: 2e-6,
    },
    crossval: null,
    data: null,
    reference_speed_flop_per_s: null,
    untransposed_weight_speed: null,
  }));
  server = await startIreneServer({ extraArgs: ['--predictors', predictors] });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (predictors) fs.rmSync(predictors, { recursive: true, force: true });
});

describe('this CPU: time without energy', { timeout: TEST_TIMEOUT }, () => {
  test('the machine list offers this CPU; its tree gives every node\'s time and prices no energy', async () => {
    const machines = await (await fetch(`${server.baseUrl}/api/machines`)).json();
    const cpu = machines.all.find((m) => m.id === 'this-cpu');
    assert.ok(cpu.answers.includes('latency'), JSON.stringify(cpu.answers));
    const query = { model: 'gpt2', batch_size: '1', seq_len: '16', machine: 'this-cpu' };
    const answer = await (await fetch(`${server.baseUrl}/api/energy?${new URLSearchParams({ ...query, max_depth: '1' })}`)).json();
    assert.equal(answer.total_energy_j, null);
    assert.ok(answer.total_latency_s > 0);

    const page = await openPage(browser, server.baseUrl);
    await page.goto(`/?${new URLSearchParams(query)}`);
    const total = page.locator('#summary-total');
    await total.filter({ hasText: 'of time (no energy meter' }).waitFor();
    assert.equal(await page.inputValue('#machine-select'), 'this-cpu');
    const group = await page.locator('#machine-select optgroup', { has: page.locator('option[value="this-cpu"]') }).getAttribute('label');
    assert.equal(group, 'this CPU: time only (no energy meter)');
    // The figure is the server's total time, written as a time.
    assert.equal(Number(await total.getAttribute('data-latency-s')), answer.total_latency_s);
    assert.equal(await total.getAttribute('data-energy-j'), '');
    assert.ok((await total.textContent()).startsWith(formatSeconds(answer.total_latency_s)), await total.textContent());
    assert.match(await page.locator('#summary-basis').textContent(), /latency model fitted on its profiles; no energy meter/);
    // The node list's value column is time; the cost card prices nothing.
    const header = await page.locator('#node-table [role="columnheader"]').allTextContents();
    assert.ok(header.some((h) => h.trim().startsWith('Time')), JSON.stringify(header));
    assert.ok(!header.some((h) => h.trim().startsWith('Energy')), JSON.stringify(header));
    assert.equal(await page.locator('#list-title').textContent(), 'Node times');
    assert.equal(await page.locator('#legend-title').textContent(), 'share of model time');
    assert.match(await page.locator('#cost-result').textContent(), /No energy to price/);
    // The tree is drawn, its labels in time units.
    await page.locator('g.tree-node[aria-level="1"]').waitFor();
    const labels = await page.locator('g.tree-node .label-energy').allTextContents();
    assert.ok(labels.some((l) => /s$/.test(l.trim())), JSON.stringify(labels.slice(0, 5)));
    assert.ok(!labels.some((l) => /J$/.test(l.trim())), JSON.stringify(labels.slice(0, 5)));
    await screenshot(page, '25-this-cpu');
    assert.deepEqual(page.scriptErrors, [], 'the page threw no script error');
    await page.context().close();
  });
});
