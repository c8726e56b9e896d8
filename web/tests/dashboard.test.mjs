// Browser tests of the dashboard against the real `irene serve` (see docs/dashboard.md).
// One server and one chromium for the file; every test opens its own page and asserts
// what that page shows. Screenshots of the main views go to build/screenshots/.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, openPage, screenshot } from './support/browser.mjs';
import { startIreneServer } from './support/irene-server.mjs';

// distilbert-base-uncased at batch 8, sequence 32 is in the IrEne dataset, so the server
// returns measured energies beside the predictions.
const MEASURED = { model: 'distilbert-base-uncased', batch_size: '8', seq_len: '32', machine: 'pc1' };
const TEST_TIMEOUT = 180_000;

let server;
let browser;

before(async () => {
  server = await startIreneServer();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

async function newPage() {
  return openPage(browser, server.baseUrl);
}

async function closePage(page) {
  assert.deepEqual(page.scriptErrors, [], 'the page threw no script error');
  await page.context().close();
}

// The tree's root (a generation also has a model node with the empty path in each phase).
const ROOT = 'g.tree-node[aria-level="1"]';

async function openSelection(page, selection) {
  await page.goto(`/?${new URLSearchParams(selection)}`);
  await page.locator(ROOT).waitFor();
}

async function visibleTreeNodes(page) {
  return Number(await page.locator('svg.tree-svg').getAttribute('data-visible-nodes'));
}

async function totalNodes(page) {
  const text = await page.locator('#list-count').textContent();
  return Number(text.match(/of ([\d,]+) nodes/)[1].replace(/,/g, ''));
}

async function listPaths(page) {
  return page.locator('#node-table .vt-row .node-path').evaluateAll((cells) => cells.map((c) => c.getAttribute('title')));
}

async function readDownload(page, buttonSelector) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(buttonSelector)]);
  const file = await download.path();
  return { name: download.suggestedFilename(), text: fs.readFileSync(file, 'utf8') };
}

describe('irene dashboard', { timeout: TEST_TIMEOUT }, () => {
  test('input screen: choose a model and sizes, visualize, see the tree opened on a layer and the totals', async () => {
    const page = await newPage();
    await page.goto('/');
    await page.locator('#intro').waitFor();
    await page.locator('#model-select:enabled').waitFor();
    await page.selectOption('#model-select', MEASURED.model);
    await page.selectOption('#batch-select', MEASURED.batch_size);
    await page.selectOption('#seq-select', MEASURED.seq_len);
    await page.selectOption('#machine-select', MEASURED.machine);
    await page.click('#visualize-button');
    await page.locator('g.tree-node[data-path=""]').waitFor();

    const url = new URL(page.url());
    assert.equal(url.searchParams.get('model'), MEASURED.model);
    assert.equal(url.searchParams.get('batch_size'), '8');
    assert.equal(url.searchParams.get('seq_len'), '32');
    assert.equal(url.searchParams.get('machine'), 'pc1');

    assert.equal(await page.locator('g.tree-node[data-path=""]').getAttribute('data-class'), 'DistilBertModel');
    // The tree opens on where the energy goes: down to a layer, its children in view.
    const opened = await visibleTreeNodes(page);
    assert.ok(opened > 10, `${opened} nodes drawn at first`);
    assert.equal(await page.locator('g.tree-node[data-path=""]').getAttribute('aria-expanded'), 'true');
    const layerChildren = await page.locator('g.tree-node').evaluateAll((gs) => gs.map((g) => g.dataset.path)
      .filter((p) => /^transformer\.layer\.\d+\.ffn$/.test(p)));
    assert.equal(layerChildren.length, 1, `one layer opened: ${layerChildren}`);
    assert.match(await page.locator('#summary-total').textContent(), /^[\d.,]+\s(µJ|mJ|J|kJ)$/);
    assert.match(await page.locator('#summary-measured-total').textContent(), /J$/, 'measured total shown');
    assert.match(await page.locator('#summary-config').textContent(), /distilbert-base-uncased · batch 8 · seq 32 · pc1/);
    assert.ok(await totalNodes(page) > 100);
    const firstRow = page.locator('#node-table .vt-row').first();
    assert.equal(await firstRow.locator('.node-path').getAttribute('title'), '(root)', 'top consumer first');
    await screenshot(page, '01-input-and-collapsed-tree');

    await page.click('g.tree-node[data-path=""] circle');
    await page.waitForFunction(() => document.querySelector('svg.tree-svg').dataset.visibleNodes === '1');
    assert.equal(await page.locator('g.tree-node[data-path="transformer"]').count(), 0, 'clicking the open root closed it');
    await page.click('g.tree-node[data-path=""] circle');
    await page.locator('g.tree-node[data-path="transformer"]').waitFor();
    assert.ok(await visibleTreeNodes(page) > 1, 'clicking the root again opened its children');
    await closePage(page);
  });

  test('expand all draws every node, reset returns to the first view; hovering a node shows its tooltip', async () => {
    const page = await newPage();
    await openSelection(page, MEASURED);
    const total = await totalNodes(page);
    const opened = await visibleTreeNodes(page);
    await page.click('#expand-all');
    await page.waitForFunction((n) => Number(document.querySelector('svg.tree-svg').dataset.visibleNodes) === n, total);
    assert.equal(await page.locator('g.tree-node').count(), total);
    await screenshot(page, '02-expand-all');

    // Reset returns to the first view.
    await page.click('#reset-tree');
    await page.waitForFunction((n) => Number(document.querySelector('svg.tree-svg').dataset.visibleNodes) === n, opened);

    // Reveal a Linear through the list, then hover it in the tree.
    await page.fill('#list-search', 'layer.0.attention.q_lin');
    await page.selectOption('#list-kind', 'ml');
    await page.locator('#node-table .vt-row').first().click();
    const node = page.locator('g.tree-node[data-path="transformer.layer.0.attention.q_lin"]');
    await node.waitFor();
    await node.locator('circle').hover();
    const tooltip = page.locator('.node-tooltip');
    await tooltip.waitFor({ state: 'visible' });
    const text = await tooltip.textContent();
    for (const expected of ['transformer.layer.0.attention.q_lin (Linear)', 'Predicted energy', 'mJ', 'Kind', 'ML op',
      'Memory (mem_bytes)', 'FLOPs', 'Parameters', 'Latency', 'Depth (level)', '4', '% of model energy',
      'Measured energy', 'error']) {
      assert.ok(text.includes(expected), `tooltip shows "${expected}": ${text}`);
    }
    await screenshot(page, '03-tooltip');
    await page.mouse.move(5, 5);
    await tooltip.waitFor({ state: 'hidden' });
    await closePage(page);
  });

  test('node list sorts by energy, name and FLOPs, and filters by kind and text', async () => {
    const page = await newPage();
    await openSelection(page, MEASURED);
    const energyHeader = page.locator('#node-table [role=columnheader]').filter({ hasText: 'Energy' });
    assert.equal(await energyHeader.getAttribute('aria-sort'), 'descending');

    await page.click('#node-table button.vt-sort[data-sort="name"]');
    const paths = (await listPaths(page)).map((p) => (p === '(root)' ? '' : p));
    assert.ok(paths.length > 10);
    for (let i = 1; i < paths.length; i += 1) assert.ok(paths[i - 1] <= paths[i], `name order: ${paths[i - 1]} <= ${paths[i]}`);

    await page.click('#node-table button.vt-sort[data-sort="flops"]');
    assert.equal((await listPaths(page))[0], '(root)', 'the root has the most FLOPs');
    await page.click('#node-table button.vt-sort[data-sort="flops"]');
    const flopsHeader = page.locator('#node-table [role=columnheader]').filter({ hasText: 'FLOPs' });
    assert.equal(await flopsHeader.getAttribute('aria-sort'), 'ascending');
    const smallest = await page.locator('#node-table .vt-row').first().locator('[data-col=flops]').textContent();
    assert.equal(smallest, '0', 'ascending FLOPs start at zero-cost ops');

    await page.selectOption('#list-kind', 'math');
    const kinds = await page.locator('#node-table .vt-row .kind-badge').allTextContents();
    assert.ok(kinds.length > 0 && kinds.every((k) => k === 'math'));

    await page.selectOption('#list-kind', 'ml');
    await page.fill('#list-search', 'ffn.lin1');
    assert.match(await page.locator('#list-count').textContent(), /^6 of /, 'six layers, one lin1 each');
    assert.ok((await listPaths(page)).every((p) => p.includes('ffn.lin1')));
    await screenshot(page, '04-node-list-filtered');
    await closePage(page);
  });

  test('clicking a row reveals and highlights the node; clicking a tree node highlights its row', async () => {
    const page = await newPage();
    await openSelection(page, MEASURED);
    await page.selectOption('#list-kind', 'ml');
    await page.fill('#list-search', 'ffn.lin2');
    const row = page.locator('#node-table .vt-row').nth(2);
    const path = await row.locator('.node-path').getAttribute('title');
    await row.click();
    const selected = page.locator('g.tree-node.selected');
    await selected.waitFor();
    assert.equal(await selected.getAttribute('data-path'), path);
    assert.equal(await selected.getAttribute('aria-selected'), 'true');
    assert.equal(await page.locator('#node-table .vt-row.selected .node-path').getAttribute('title'), path);
    assert.match(await page.locator('#selected-node').textContent(), new RegExp(`${path.replace(/\./g, '\\.')} \\(Linear\\)`));

    // The root is filtered out of the list: the page says so and offers to clear the filters.
    await page.click('#reset-tree');
    await page.click('g.tree-node[data-path=""] circle');
    await page.locator('#list-note').filter({ hasText: 'hidden by the list' }).waitFor();
    await page.click('#list-note button');
    await page.locator('#node-table .vt-row.selected').waitFor();
    assert.equal(await page.locator('#node-table .vt-row.selected .node-path').getAttribute('title'), '(root)');
    await closePage(page);
  });

  test('keyboard: Enter closes and opens a tree node, arrows and Enter select a list row', async () => {
    const page = await newPage();
    await openSelection(page, MEASURED);
    // The root opens expanded: Enter closes it, Enter again opens it.
    await page.focus('g.tree-node[data-path=""]');
    await page.keyboard.press('Enter');
    await page.locator('g.tree-node[data-path="transformer"]').waitFor({ state: 'detached' });
    assert.equal(await page.locator('g.tree-node[data-path=""]').getAttribute('aria-expanded'), 'false');
    await page.keyboard.press('Enter');
    await page.locator('g.tree-node[data-path="transformer"]').waitFor();
    assert.equal(await page.locator('g.tree-node[data-path=""]').getAttribute('aria-expanded'), 'true');

    await page.locator('#node-table .vt-row').first().focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const rowPath = await page.locator('#node-table .vt-row.selected .node-path').getAttribute('title');
    assert.equal(rowPath, 'transformer', 'second-largest consumer');
    assert.equal(await page.locator('g.tree-node.selected').getAttribute('data-path'), 'transformer');
    await closePage(page);
  });

  test('icicle tab sizes nodes by energy and zooms on click', async () => {
    const page = await newPage();
    await openSelection(page, MEASURED);
    await page.click('#tab-icicle');
    await page.locator('#panel-icicle:not([hidden]) .icicle-cell').first().waitFor();
    assert.ok(await page.locator('.icicle-cell').count() > 10);
    assert.match(await page.locator('.icicle-cell[data-path=""]').textContent(), /DistilBertModel/);
    const rootWidth = Number(await page.locator('.icicle-cell[data-path=""] rect').getAttribute('width'));
    const transformerWidth = Number(await page.locator('.icicle-cell[data-path="transformer"] rect').getAttribute('width'));
    assert.ok(transformerWidth > rootWidth * 0.9, 'the transformer holds nearly all the energy');
    await screenshot(page, '05-icicle');

    await page.click('.icicle-cell[data-path="transformer.layer.0"]');
    await page.locator('.icicle-cell[data-path="embeddings"]').waitFor({ state: 'detached' });
    const layerWidth = Number(await page.locator('.icicle-cell[data-path="transformer.layer.0"] rect').getAttribute('width'));
    assert.ok(layerWidth > rootWidth * 0.9, 'zoomed into layer 0');
    assert.equal(await page.locator('#node-table .vt-row.selected .node-path').getAttribute('title'), 'transformer.layer.0');
    await closePage(page);
  });

  test('energy by operation type is a bar chart that adds up to the total', async () => {
    const page = await newPage();
    await openSelection(page, MEASURED);
    await page.click('#tab-classes');
    const linear = page.locator('.class-bar[data-class="Linear"]');
    await linear.waitFor();
    assert.match(await linear.textContent(), /Linear ×36/);
    assert.ok(await page.locator('.class-bar[data-class="LayerNorm"]').count() === 1);
    assert.ok(await page.locator('.class-bar .bar-measured').count() > 0, 'measured bars beside predicted');
    await screenshot(page, '06-operation-types');
    await closePage(page);
  });

  test('compare two configurations: totals side by side and a per-node difference table', async () => {
    const page = await newPage();
    await openSelection(page, MEASURED);
    await page.click('#tab-compare');
    assert.equal(await page.inputValue('#compare-a-batch_size'), '8');
    await page.selectOption('#compare-b-batch_size', '16');
    await page.selectOption('#compare-b-seq_len', '32');
    await page.click('#compare-run');
    const totalB = page.locator('.compare-side[data-side="B"] .compare-total');
    await totalB.waitFor();
    const totalA = await page.locator('.compare-side[data-side="A"] .compare-total').textContent();
    assert.equal(totalA, await page.locator('#summary-total').textContent());
    assert.notEqual(await totalB.textContent(), totalA);
    assert.match(await page.locator('.compare-diff').textContent(), /^\+/, 'batch 16 costs more than batch 8');
    assert.match(await page.locator('#compare-totals').textContent(), /nodes matched by path and class/);
    const rows = page.locator('#compare-table .vt-row');
    assert.ok(await rows.count() > 10);
    const firstDiff = await rows.first().locator('[data-col=diff]').textContent();
    assert.match(firstDiff, /^\+/);
    await screenshot(page, '07-compare');
    await closePage(page);
  });

  test('export downloads the tree as JSON and the node list as CSV', async () => {
    const page = await newPage();
    await openSelection(page, MEASURED);
    const json = await readDownload(page, '#export-json');
    assert.equal(json.name, 'irene-distilbert-base-uncased-b8-s32-pc1.json');
    const answer = JSON.parse(json.text);
    assert.equal(answer.model, 'distilbert-base-uncased');
    assert.equal(answer.tree.schema, 'irene.tree/1');
    assert.equal(answer.tree.root.class, 'DistilBertModel');
    assert.ok(answer.tree.root.share_of_model === 1);

    await page.selectOption('#list-kind', 'ml');
    const csv = await readDownload(page, '#export-csv');
    assert.equal(csv.name, 'irene-distilbert-base-uncased-b8-s32-pc1-nodes.csv');
    const lines = csv.text.trim().split('\n');
    assert.equal(lines[0], 'path,class,kind,depth,energy_j,share_of_parent,share_of_model,measured_energy_j,error_pct,flops,mem_bytes,num_parameters,latency_s');
    const shown = Number((await page.locator('#list-count').textContent()).match(/^(\d+)/)[1]);
    assert.equal(lines.length - 1, shown, 'one line per listed node');
    assert.ok(lines.slice(1).every((line) => /,(ml|ml-np),/.test(line)));
    await closePage(page);
  });

  test('a shared URL opens its view directly, and Back returns to the previous view', async () => {
    const page = await newPage();
    await openSelection(page, { model: 'distilgpt2', batch_size: '16', seq_len: '64', machine: 'pc1' });
    assert.equal(await page.locator('g.tree-node[data-path=""]').getAttribute('data-class'), 'GPT2Model');
    assert.equal(await page.inputValue('#model-select'), 'distilgpt2');
    assert.equal(await page.inputValue('#batch-select'), '16');
    assert.equal(await page.inputValue('#seq-select'), '64');
    assert.match(await page.locator('#summary-config').textContent(), /distilgpt2 · batch 16 · seq 64/);
    await screenshot(page, '08-shared-url');

    await page.selectOption('#batch-select', '8');
    await page.click('#visualize-button');
    await page.locator('#summary-config').filter({ hasText: 'batch 8' }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('batch_size'), '8');
    await page.goBack();
    await page.locator('#summary-config').filter({ hasText: 'batch 16' }).waitFor();
    assert.equal(await page.inputValue('#batch-select'), '16');
    await closePage(page);
  });

  test('the URL keeps the open tab, the comparison and the sweep, and a link reopens them', async () => {
    const page = await newPage();
    const base = { model: 'distilgpt2', batch_size: '1', seq_len: '32', machine: 'pc1' };
    await page.goto(`/?${new URLSearchParams({
      ...base, view: 'compare', b_model: 'distilgpt2', b_batch_size: '4', b_seq_len: '32', b_machine: 'pc1',
    })}`);
    await page.locator('.compare-side[data-side="B"]').filter({ hasText: 'distilgpt2, batch 4, seq 32' }).waitFor();
    assert.equal(await page.locator('#tab-compare').getAttribute('aria-selected'), 'true');
    assert.equal(await page.locator('#panel-compare').isVisible(), true);

    // A sweep run from here lands in the URL; reloading runs it again on the sweep tab.
    await page.click('#tab-sweep');
    for (const box of await page.locator('#sweep-batches input').all()) {
      if (['2'].includes(await box.getAttribute('value'))) await box.check();
      else await box.uncheck();
    }
    await page.selectOption('#sweep-step', '256');
    await page.click('#sweep-run');
    await page.locator('#sweep-progress').filter({ hasText: 'points loaded' }).waitFor();
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('view'), 'sweep');
    assert.equal(url.searchParams.get('sweep_batches'), '2');
    assert.equal(url.searchParams.get('sweep_step'), '256');
    assert.equal(url.searchParams.get('b_batch_size'), '4');
    await page.reload();
    await page.locator('#sweep-progress').filter({ hasText: 'points loaded' }).waitFor();
    assert.equal(await page.locator('#tab-sweep').getAttribute('aria-selected'), 'true');
    assert.equal(await page.locator('.sweep-series[data-batch="2"]').count(), 1);
    await closePage(page);
  });

  test('an API error shows the server\'s message', async () => {
    const page = await newPage();
    const bad = { model: 'distilgpt2', batch_size: '8', seq_len: '99999', machine: 'pc1' };
    const response = await fetch(`${server.baseUrl}/api/energy?${new URLSearchParams(bad)}`);
    assert.equal(response.status, 400);
    const { error } = await response.json();
    await page.goto(`/?${new URLSearchParams(bad)}`);
    const message = page.locator('#status .status-error .error-message');
    await message.waitFor();
    assert.equal(await message.textContent(), error.message);
    assert.match(error.message, /seq_len/);
    assert.ok(await page.locator('#dashboard').isHidden());
    await screenshot(page, '09-api-error');
    await closePage(page);
  });

  test('sweep: total energy against sequence length, loaded point by point', async () => {
    const page = await newPage();
    await openSelection(page, { model: 'google/bert_uncased_L-4_H-256_A-4', batch_size: '1', seq_len: '32', machine: 'pc1' });
    await page.click('#tab-sweep');
    for (const box of await page.locator('#sweep-batches input').all()) {
      if (['1', '4'].includes(await box.getAttribute('value'))) await box.check();
      else await box.uncheck();
    }
    await page.selectOption('#sweep-step', '256');
    assert.match(await page.locator('#sweep-plan').textContent(), /^6 requests: sequence lengths 32, 288, 512/);
    await page.click('#sweep-run');
    await page.locator('#sweep-progress').filter({ hasText: '6 points loaded' }).waitFor();
    assert.equal(await page.locator('.sweep-series').count(), 2);
    assert.equal(await page.locator('.sweep-series circle').count(), 6);
    await screenshot(page, '10-sweep');
    await closePage(page);
  });

  test('measure here: the server profiles the configuration, with progress, and tooltips show its figures', async () => {
    const page = await newPage();
    await openSelection(page, { model: 'google/bert_uncased_L-4_H-256_A-4', batch_size: '1', seq_len: '8', machine: 'pc1' });
    await page.click('#tab-measure');
    assert.match(await page.locator('#measure-plan').textContent(), /Runs every node of google\/bert_uncased_L-4_H-256_A-4 \(batch 1, sequence 8\)/);
    await page.selectOption('#measure-seconds', '0.02');
    await page.click('#measure-start');
    await page.locator('#measure-progress').waitFor();
    await page.locator('#measure-result').waitFor({ timeout: 120_000 });
    assert.match(await page.locator('#measure-status').textContent(), /^done: (\d+) of \1 node runs$/);
    assert.match(await page.locator('#measure-result .measure-machine').textContent(), /^Measured on .+/);
    const facts = await page.locator('#measure-result .measure-facts').textContent();
    assert.match(facts, /forward pass [\d.]+\s(µs|ms|s)/);
    // Energy is measured where the server has a meter, and otherwise says why not.
    assert.match(facts, /mJ measured per forward pass|energy not measured: no energy meter found \(looked for:/);
    assert.match(facts, /\d+ nodes measured, \d+ reused/);
    const rows = page.locator('#measure-table tbody tr');
    assert.equal(await rows.count(), 15);
    assert.match(await rows.first().locator('td').nth(1).textContent(), /[\d.]+\s(µs|ms|s)/);
    await screenshot(page, '13-measure-here');

    await page.click('#tab-tree');
    await page.locator('g.tree-node[data-path=""] circle').hover();
    const tooltip = page.locator('.node-tooltip');
    await tooltip.waitFor({ state: 'visible' });
    const text = await tooltip.textContent();
    for (const expected of ['Time (profile)', 'CPU use (profile)', 'Energy (profile)']) {
      assert.ok(text.includes(expected), `tooltip shows "${expected}": ${text}`);
    }

    // Larger than the server measures: the button is off and the limit is said.
    await openSelection(page, { model: 'google/bert_uncased_L-4_H-256_A-4', batch_size: '64', seq_len: '128', machine: 'pc1' });
    await page.click('#tab-measure');
    assert.ok(await page.locator('#measure-start').isDisabled());
    assert.match(await page.locator('#measure-plan').textContent(), /8192 tokens: the server measures at most 4096 tokens/);
    await closePage(page);
  });

  test('a profile file from another machine opens its configuration and shows beside the prediction', async () => {
    // What `irene profile -o FILE.json` writes, made by the real CLI.
    const file = path.join(os.tmpdir(), `irene-profile-${process.pid}.json`);
    execFileSync(server.binary, ['profile', '--model', 'distilgpt2', '-b', '1', '-s', '8', '--seconds-per-node', '0.005',
      '--rounds', '1', '--level', 'module', '-o', file], { stdio: 'ignore' });
    const page = await newPage();
    await openSelection(page, { model: 'google/bert_uncased_L-4_H-256_A-4', batch_size: '1', seq_len: '8', machine: 'pc1' });
    await page.click('#tab-measure');

    await page.setInputFiles('#measure-file', { name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"a": 1}') });
    await page.locator('#measure-error').filter({ hasText: 'notes.json is not a profile' }).waitFor();

    await page.setInputFiles('#measure-file', file);
    await page.locator('#summary-config').filter({ hasText: 'distilgpt2 · batch 1 · seq 8' }).waitFor();
    await page.locator('#measure-result').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('model'), 'distilgpt2');
    assert.match(await page.locator('#measure-result .measure-machine').textContent(), /^Measured on .+/);
    assert.match(await page.locator('#measure-result .measure-facts').textContent(), /cpu, \d+ CPU threads/);
    // Modules only were profiled: the table lists them, slowest first.
    const first = await page.locator('#measure-table tbody tr').first().locator('td').first().textContent();
    assert.match(first, /\((GPT2Model|Block|Attention|MLP)\)$/);
    assert.equal(await page.locator('#measure-error').textContent(), '');
    fs.rmSync(file, { force: true });
    await closePage(page);
  });

  test('a ~3,000-node model: expand all draws every node, the list stays virtualised', async () => {
    const page = await newPage();
    await openSelection(page, { model: 'gpt2-xl', batch_size: '1', seq_len: '8', machine: 'pc1' });
    const total = await totalNodes(page);
    assert.ok(total > 2500, `gpt2-xl has ${total} nodes`);
    assert.ok(await page.locator('#node-table .vt-row').count() < 80, 'only the rows in view are in the page');

    const started = Date.now();
    await page.click('#expand-all');
    await page.waitForFunction((n) => Number(document.querySelector('svg.tree-svg').dataset.visibleNodes) === n, total);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 15_000, `expand all took ${elapsed} ms`);
    assert.equal(await page.locator('g.tree-node').count(), total);

    await page.fill('#list-search', 'h.47.mlp.c_fc');
    await page.selectOption('#list-kind', 'ml');
    await page.locator('#node-table .vt-row').first().click();
    assert.equal(await page.locator('g.tree-node.selected').getAttribute('data-path'), 'h.47.mlp.c_fc');
    await screenshot(page, '11-large-model');
    await closePage(page);
  });

  test('a decoder LLM: node types the predictor never saw are marked extrapolated, and the notes say so', async () => {
    const page = await newPage();
    await openSelection(page, { model: 'meta-llama/Llama-3.2-1B', batch_size: '1', seq_len: '8', machine: 'pc1' });
    const notes = page.locator('#summary-notes');
    await notes.waitFor({ state: 'visible' });
    const text = await notes.textContent();
    assert.match(text, /nodes extrapolated: the predictor was trained without these ML types/);
    assert.match(text, /LlamaRMSNorm \(as LayerNorm\)/);

    await page.fill('#list-search', 'layers.0.input_layernorm');
    await page.selectOption('#list-kind', 'ml');
    await page.locator('#node-table .vt-row').first().click();
    const node = page.locator('g.tree-node[data-path="model.layers.0.input_layernorm"]');
    await node.waitFor();
    await node.locator('circle').hover();
    const tooltip = page.locator('.node-tooltip');
    await tooltip.waitFor({ state: 'visible' });
    const tip = await tooltip.textContent();
    assert.ok(tip.includes('model.layers.0.input_layernorm (LlamaRMSNorm)'), tip);
    assert.ok(tip.includes('Extrapolated'), `the tooltip says the node is extrapolated: ${tip}`);
    await screenshot(page, '14-decoder-extrapolated');
    await closePage(page);
  });

  test('a generation: models grouped by family, new tokens and dtype for decoders, energy per output token', async () => {
    const page = await newPage();
    await page.goto('/');
    await page.locator('#model-select:not([disabled])').waitFor();
    const families = await page.locator('#model-select optgroup').evaluateAll((groups) => groups.map((g) => g.label));
    for (const family of ['BERT', 'GPT-2', 'Llama', 'Qwen3', 'Mixtral']) assert.ok(families.includes(family), families.join(', '));
    await page.selectOption('#model-select', 'bert-base-uncased');
    assert.ok(await page.locator('#new-tokens-select').isDisabled(), 'BERT does not generate');
    await page.selectOption('#model-select', 'Qwen/Qwen2.5-0.5B');
    assert.ok(await page.locator('#new-tokens-select').isEnabled());
    await page.selectOption('#batch-select', '4');
    await page.selectOption('#seq-select', '64');
    await page.selectOption('#new-tokens-select', '16');
    await page.selectOption('#dtype-select', 'float16');
    // A decoder opens on the GPU; the generation's tree (prefill, then decode steps) is PC1's.
    assert.equal(await page.inputValue('#machine-select'), 'h100-sxm5-80gb');
    await page.selectOption('#machine-select', 'pc1');
    await page.click('#visualize-button');
    await page.locator(ROOT).waitFor();
    await page.waitForFunction(() => document.querySelector('#summary-config').textContent.includes('new tokens'));
    const config = await page.locator('#summary-config').textContent();
    assert.ok(config.includes('prefill of 64 tokens + 16 new tokens') && config.includes('float16'), config);
    assert.match(await page.locator('#summary-total').textContent(), /per output token/);
    assert.match(page.url(), /new_tokens=16/);
    assert.match(page.url(), /dtype=float16/);
    const phases = await page.locator('#summary-phases').textContent();
    assert.match(phases, /^prefill .+ \(\d+(\.\d)?\s?%\).*\|.*decode .+ \(\d+(\.\d)?\s?%\)/, phases);
    // The root is the generation; its two phases are the nodes below it.
    await page.fill('#list-search', 'decode');
    await page.selectOption('#list-kind', 'module');
    await page.waitForFunction(() => document.querySelector('#list-count').textContent.length > 0);
    await screenshot(page, '15-generation');
    await closePage(page);
  });

  test('the 2025-26 families: grouped in the list, a hybrid\'s Mamba-2 scan and an MoE\'s active parameters and quantised weights in the tree', async () => {
    const page = await newPage();
    await page.goto('/');
    await page.locator('#model-select:not([disabled])').waitFor();
    const families = await page.locator('#model-select optgroup').evaluateAll((groups) => groups.map((g) => g.label));
    for (const family of ['gpt-oss', 'Llama 4', 'Gemma 3', 'Gemma 4', 'DeepSeek-V3', 'DeepSeek-V3.2', 'GLM-5',
      'Nemotron-H', 'Qwen3-Next', 'Qwen3.5', 'Qwen3.5-MoE']) {
      assert.ok(families.includes(family), `${family} in ${families.join(', ')}`);
    }
    // A hybrid: its Mamba-2 layers' scan is a node of its own, found in the list.
    await openSelection(page, { model: 'nvidia/NVIDIA-Nemotron-Nano-9B-v2', batch_size: '1', seq_len: '32', machine: 'pc1',
      new_tokens: '16' });
    assert.match(await page.locator('#summary-facts').textContent(), /of recurrent state/);
    await page.fill('#list-search', 'selective_state_update');
    await page.selectOption('#list-kind', 'math');
    await page.waitForFunction(() => document.querySelectorAll('#node-table .vt-row').length > 0);
    const row = await page.locator('#node-table .vt-row').first().textContent();
    assert.ok(row.includes('irene::selective_state_update'), row);
    // A quantised MoE: the active parameters beside the total, the experts' stored format in the tooltip.
    await openSelection(page, { model: 'openai/gpt-oss-20b', batch_size: '1', seq_len: '32', machine: 'pc1' });
    assert.match(await page.locator('#summary-facts').textContent(), /active per token/);
    await page.fill('#list-search', 'layers.0.mlp.experts');
    await page.selectOption('#list-kind', 'module');
    await page.locator('#node-table .vt-row').first().click();
    const experts = page.locator('g.tree-node[data-path="model.layers.0.mlp.experts"]');
    await experts.waitFor();
    await experts.locator('circle').hover();
    const tooltip = page.locator('.node-tooltip');
    await tooltip.waitFor({ state: 'visible' });
    const tip = await tooltip.textContent();
    assert.ok(tip.includes('GptOssExperts') && tip.includes('mxfp4 (groups of 32)'), tip);
    await screenshot(page, '17-2026-families');
    await closePage(page);
  });

  test('Llama-3.1-405B generating 1,024 tokens: the first levels of 18,465 nodes open, deeper ones load when a node opens', async () => {
    const page = await newPage();
    await openSelection(page, { model: 'meta-llama/Llama-3.1-405B', batch_size: '8', seq_len: '2048', machine: 'pc1',
      new_tokens: '1024' });
    const facts = await page.locator('#summary-facts').textContent();
    const [, loaded, all] = facts.match(/([\d,]+) of ([\d,]+) nodes loaded/).map((v) => Number(String(v).replace(/,/g, '')));
    assert.equal(all, 18465, facts);
    assert.ok(loaded <= 6000, `${loaded} nodes in the first answer`);
    assert.equal(await totalNodes(page), loaded);
    assert.ok(await page.locator('#node-table .vt-row').count() < 80, 'only the rows in view are in the page');
    await page.fill('#list-search', 'model.layers.125.mlp');
    await page.selectOption('#list-kind', 'module');
    await page.locator('#node-table .vt-row').first().click();
    const mlp = page.locator('g.tree-node.selected[data-path="model.layers.125.mlp"]');
    await mlp.waitFor();
    assert.equal(await page.locator('g.tree-node[data-path="model.layers.125.mlp.down_proj"]').count(), 0, 'not loaded yet');
    await mlp.click(); // its children were left out of the first answer: asked for now
    await page.locator('g.tree-node[data-path="model.layers.125.mlp.down_proj"]').waitFor();
    assert.ok(await totalNodes(page) > loaded, 'the grafted nodes join the list');
    assert.ok(await visibleTreeNodes(page) < 1000, 'revealing one node opens its ancestors only');
    await screenshot(page, '16-405b-generation');
    await closePage(page);
  });

  test('serving: energy per token on a calibrated GPU with intervals, the sweep beside measured points, one step\'s tree', async () => {
    const page = await newPage();
    await page.goto('/');
    await page.locator('#model-select:not([disabled])').waitFor();
    await page.click('#serving-section summary');
    const groups = await page.locator('#serving-machine optgroup').evaluateAll((gs) => gs.map((g) => g.label));
    assert.deepEqual(groups, ['calibrated on measured serving', 'spec sheet only']);
    await page.selectOption('#serving-model', 'meta-llama/Llama-3.1-8B');
    await page.selectOption('#serving-machine', 'h100-sxm5-80gb');
    // vLLM 0.5.4, the engine of ML.ENERGY v2 (pipelines and benchmark runs are its own).
    await page.selectOption('#serving-engine', 'vllm-0.5.4');
    assert.match(await page.locator('#serving-machine-info').textContent(), /calibrated on measured serving data/);
    await page.fill('#serving-batch', '128');
    await page.fill('#serving-output', '480');
    await page.click('#serving-run');
    await page.locator('#serving-result tr[data-figure="energy_per_output_token_j"]').waitFor();
    for (const figure of ['energy_per_output_token_j', 'energy_per_request_j', 'power_w', 'tpot_s', 'throughput_tokens_per_s']) {
      const row = await page.locator(`#serving-result tr[data-figure="${figure}"]`).textContent();
      assert.match(row, /–/, `${figure} has an interval: ${row}`);
    }
    assert.match(await page.locator('#serving-cost').textContent(), /Per million output tokens: .*USD.*CO₂/);
    const split = await page.locator('#serving-time-split').textContent();
    const shares = [...split.matchAll(/(\d+) %/g)].map((m) => Number(m[1]));
    assert.equal(shares.length, 4, split);
    assert.ok(Math.abs(shares.reduce((a, b) => a + b, 0) - 100) <= 2, `the time split adds up: ${split}`);
    await page.locator('svg.serving-svg').waitFor();
    assert.equal(await page.locator('svg.serving-svg .serving-predicted circle').count(), 13, 'batch 1 to 4096');
    assert.ok(await page.locator('svg.serving-svg .serving-band').count() === 1, 'the interval as a band');
    if (fs.existsSync(path.resolve(process.cwd(), '../../shared/data/mlenergy/vllm_v2_measurements.csv'))
        || fs.existsSync(path.resolve(process.cwd(), '../shared/data/mlenergy/vllm_v2_measurements.csv'))) {
      assert.ok(await page.locator('svg.serving-svg .serving-measured rect').count() >= 3, 'ML.ENERGY points drawn');
    }
    await screenshot(page, '18-serving');
    await page.selectOption('#serving-over', 'num_gpus');
    await page.waitForFunction(() => document.querySelectorAll('svg.serving-svg .serving-predicted circle').length === 5);
    // One step's tree in the main views.
    await page.click('#serving-show-tree');
    await page.locator('g.tree-node[data-path=""]').waitFor();
    assert.match(await page.locator('#summary-config').textContent(), /one steady-state serving step .* 128 requests running/);
    // A GPU without measurements: spec-only, and it says so.
    await page.selectOption('#serving-machine', 'b200');
    await page.click('#serving-run');
    await page.waitForFunction(() => /spec sheet alone/.test(document.querySelector('#serving-basis')?.textContent || ''));
    // Two pipeline stages: the GPU sweep keeps the counts two stages can split (2 to 16).
    await page.fill('#serving-gpus', '16');
    await page.fill('#serving-stages', '2');
    await page.click('#serving-run');
    await page.waitForFunction(() => document.querySelectorAll('svg.serving-svg .serving-predicted circle').length === 4);
    await page.fill('#serving-stages', '1');
    // A benchmark run: its time per token beside the steady state's, or the reason it has none.
    await page.fill('#serving-gpus', '1');
    await page.fill('#serving-batch', '512');
    await page.fill('#serving-run-requests', '2000');
    await page.click('#serving-run');
    await page.locator('#serving-status').locator('text=max_output_len').waitFor();
    await page.fill('#serving-output-cap', '1024');
    await page.click('#serving-run');
    const runRow = page.locator('#serving-result tr[data-figure="run_tpot_s"]');
    await runRow.waitFor();
    assert.match(await runRow.textContent(), /run of 2,000 requests \(≤ 1024 tokens each\).*–/);
    await screenshot(page, '18-serving-run');
    await page.fill('#serving-run-requests', '');
    await page.fill('#serving-output-cap', '');
    await page.fill('#serving-batch', '9999');
    await page.click('#serving-run');
    await page.locator('#serving-status').locator('text=batch_size').waitFor();
    await closePage(page);
  });

  test('serving under vLLM 0.11.1: the engine picker, inter-token latency and TTFT, a batch the memory caps', async () => {
    const page = await newPage();
    await page.goto('/');
    await page.locator('#model-select:not([disabled])').waitFor();
    await page.click('#serving-section summary');
    const engines = await page.locator('#serving-engine option').evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(engines, ['', 'vllm-0.5.4', 'vllm-0.11.1']);
    await page.selectOption('#serving-model', 'openai/gpt-oss-20b');
    await page.selectOption('#serving-machine', 'h100-sxm5-80gb');
    // The default on the H100: the newest engine calibrated there.
    assert.match(await page.locator('#serving-machine-info').textContent(),
      /Engines calibrated on it: vLLM 0\.5\.4, vLLM 0\.11\.1 \(V1 engine\); answers under vLLM 0\.11\.1/);
    await page.fill('#serving-batch', '256');
    await page.fill('#serving-prompt', '634');
    await page.fill('#serving-output', '700');
    await page.click('#serving-run');
    await page.locator('#serving-result tr[data-figure="itl_median_s"]').waitFor();
    assert.match(await page.locator('#serving-engine-used').textContent(), /Under vLLM 0\.11\.1 \(V1 engine\), 256 requests running/);
    assert.match(await page.locator('#serving-result tr[data-figure="itl_median_s"]').textContent(), /ms.*–/, 'the median ITL has its interval');
    assert.match(await page.locator('#serving-result tr[data-figure="ttft_s"]').textContent(), /no interval/);
    assert.match(await page.locator('#serving-memory').textContent(), /Fits: weights .* GB/);
    // V1's parts of the time: the sampler on the GPUs, no admission stall.
    const v1Split = await page.locator('#serving-time-split').textContent();
    assert.match(v1Split, /the sampler \d+ %/);
    assert.doesNotMatch(v1Split, /admission/);
    if (fs.existsSync(path.resolve(process.cwd(), '../../shared/data/mlenergy-v3/vllm_v3_h100_measurements.csv'))
        || fs.existsSync(path.resolve(process.cwd(), '../shared/data/mlenergy-v3/vllm_v3_h100_measurements.csv'))) {
      await page.locator('svg.serving-svg').waitFor();
      assert.ok(await page.locator('svg.serving-svg .serving-measured rect').count() >= 10, 'ML.ENERGY v3 points drawn');
    }
    await screenshot(page, '18-serving-v1');
    // Half of each prompt cached: less energy per token, and said; out of range: named.
    const energyOf = async () => Number(await page.locator('#serving-result tr[data-figure="energy_per_output_token_j"]').getAttribute('data-value'));
    const uncached = await energyOf();
    await page.fill('#serving-cached', '50');
    await page.click('#serving-run');
    await page.locator('#serving-cache').waitFor();
    assert.match(await page.locator('#serving-cache').textContent(), /50(\.0)?\s?% of each prompt's tokens found cached/);
    assert.ok(await energyOf() < uncached, 'cached prompts cost less');
    await page.fill('#serving-cached', '100');
    await page.click('#serving-run');
    await page.waitForFunction(() => /Cached % must be from 0 to below 100/.test(document.body.textContent));
    await page.fill('#serving-cached', '');
    // More requests than the KV cache holds: capped to what fits, and said.
    await page.selectOption('#serving-model', 'meta-llama/Llama-3.1-70B');
    await page.fill('#serving-gpus', '2');
    await page.fill('#serving-batch', '4096');
    await page.fill('#serving-output', '4096');
    await page.click('#serving-run');
    await page.waitForFunction(() => /do not fit the KV cache/.test(document.querySelector('#serving-memory')?.textContent || ''));
    assert.doesNotMatch(await page.locator('#serving-engine-used').textContent(), /4,096 requests/);
    await closePage(page);
  });

  test('paste a config.json: its tree and energy; a broken one names the field', async () => {
    const page = await newPage();
    await page.goto('/');
    await page.locator('#model-select:not([disabled])').waitFor();
    await page.selectOption('#model-select', 'bert-base-uncased');
    await page.selectOption('#batch-select', '2');
    await page.selectOption('#seq-select', '32');
    await page.click('#paste-config summary');
    const tiny = { model_type: 'qwen3', vocab_size: 1000, hidden_size: 128, intermediate_size: 256, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32, max_position_embeddings: 512 };
    await page.fill('#config-text', JSON.stringify(tiny));
    assert.ok(await page.locator('#new-tokens-select').isEnabled(), 'a decoder config may generate');
    await page.selectOption('#new-tokens-select', '16');
    await page.click('#config-visualize');
    await page.waitForFunction(() => document.querySelector('#summary-config').textContent.includes('pasted config'));
    const config = await page.locator('#summary-config').textContent();
    assert.ok(config.includes('batch 2') && config.includes('prefill of 32 tokens + 16 new tokens'), config);
    assert.match(await page.locator('#summary-facts').textContent(), /nodes/);

    await page.fill('#config-text', JSON.stringify({ ...tiny, num_hidden_layers: 'two' }));
    await page.click('#config-visualize');
    const status = page.locator('#status');
    await status.locator('text=num_hidden_layers').waitFor();
    assert.match(await status.textContent(), /config field 'num_hidden_layers' must be a positive integer/);
    await page.fill('#config-text', '{"model_type": ');
    await page.click('#config-visualize');
    assert.match(await page.locator('#config-error').textContent(), /Not valid JSON/);
    await closePage(page);
  });

  test('cost and CO2 follow the editable price and grid intensity, with sources stated', async () => {
    const page = await newPage();
    await openSelection(page, MEASURED);
    const sources = await page.locator('#cost-sources').textContent();
    assert.match(sources, /IEA world average/);
    assert.match(sources, /assumption/);
    assert.equal(await page.inputValue('#cost-intensity'), '475');
    await page.fill('#cost-requests', '1000');
    await page.fill('#cost-intensity', '0');
    assert.match(await page.locator('.cost-co2').textContent(), /^0\sg\sCO₂$/);
    await page.fill('#cost-intensity', '1000');
    await page.fill('#cost-price', '1');
    const energy = await page.locator('.cost-energy').textContent();
    assert.match(energy, /J$/);
    assert.match(await page.locator('.cost-money').textContent(), /USD$/);
    await closePage(page);
  });
});
