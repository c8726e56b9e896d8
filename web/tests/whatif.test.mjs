// One machine list, one tree, and what if: the main view on every machine of /api/machines'
// `all` (a decoder LLM opening on the decoders' GPU as one steady-state decode step under
// its engine), the tree opening on the costliest layer, and the what-if card, each against
// the server's own JSON for the same request.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { formatEnergy, formatSignedPercent } from '../js/format.js';
import { launchBrowser, openPage, screenshot } from './support/browser.mjs';
import { startIreneServer } from './support/irene-server.mjs';

const TEST_TIMEOUT = 180_000;
const LLAMA = 'meta-llama/Llama-3.1-8B';
const ROOT = 'g.tree-node[aria-level="1"]';
// Side A of the what-if card as it opens: the chat task's lengths on the decoders' GPU.
const SIDE_A = { model: LLAMA, machine: 'h100-sxm5-80gb', num_gpus: '1', batch_size: '64', prompt_len: '634', output_len: '700', max_depth: '4' };

let server;
let browser;
let machines; // GET /api/machines

before(async () => {
  server = await startIreneServer();
  browser = await launchBrowser();
  machines = await (await fetch(`${server.baseUrl}/api/machines`)).json();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

async function api(path, params) {
  const response = await fetch(`${server.baseUrl}${path}?${new URLSearchParams(params)}`);
  return { status: response.status, body: await response.json() };
}

function newPage() {
  return openPage(browser, server.baseUrl);
}

async function closePage(page) {
  assert.deepEqual(page.scriptErrors, [], 'the page threw no script error');
  await page.context().close();
}

async function openForm(page) {
  await page.goto('/');
  await page.locator('#model-select:not([disabled])').waitFor();
}

async function drawnPaths(page) {
  return page.locator('g.tree-node').evaluateAll((gs) => gs.map((g) => g.dataset.path));
}

async function shownCount(page) {
  const text = await page.locator('#tree-count').textContent();
  return Number(text.match(/^([\d,]+) of/)[1].replace(/,/g, ''));
}

// The costliest node of the answer whose path matches `pattern` (the first of equals), as
// the page must find it: the layers are the numbered nodes of the shallowest such level.
function costliest(root, pattern) {
  let best = null;
  const walk = (node) => {
    if (pattern.test(node.path) && (!best || node.energy_j > best.energy_j)) best = node;
    for (const child of node.children || []) walk(child);
  };
  walk(root);
  return best;
}

function nodeAt(root, path) {
  if (root.path === path) return root;
  for (const child of root.children || []) {
    const found = nodeAt(child, path);
    if (found) return found;
  }
  return null;
}

describe('one machine list, one tree, what if', { timeout: TEST_TIMEOUT }, () => {
  test('the machine list offers every machine that answers energy; a decoder opens on the decoders\' GPU as its served generation, equal to /api/serving\'s', async () => {
    const energyMachines = machines.all.filter((m) => m.answers.includes('energy'));
    const gpu = machines.all.find((m) => m.default_for === 'decoders');
    assert.equal(gpu.id, 'h100-sxm5-80gb');
    assert.equal(machines.all.find((m) => m.default_for === 'encoders').id, 'pc1');

    const page = await newPage();
    await page.setViewportSize({ width: 1440, height: 1400 }); // the summary and the tree in one screenshot
    await openForm(page);
    const options = await page.locator('#machine-select option').evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual([...options].sort(), energyMachines.map((m) => m.id).sort(), 'every machine answering energy, no other');
    assert.ok(!options.includes('this-cpu'), 'the CPU irene runs on answers profiles only');
    const groups = await page.locator('#machine-select optgroup').evaluateAll((gs) => gs.map((g) => [g.label, g.children.length]));
    assert.deepEqual(groups.map(([label]) => label), ['measured energy predictors', 'GPUs calibrated on measured serving', 'GPUs from the spec sheet']);
    assert.equal(groups[1][1], energyMachines.filter((m) => m.kind === 'gpu' && m.calibrated).length);
    // The form opens on bert-base-uncased, on PC1.
    assert.equal(await page.inputValue('#machine-select'), 'pc1');

    // A decoder chosen: the decoders' GPU, and new tokens, so that the tree is a generation.
    await page.selectOption('#model-select', LLAMA);
    assert.equal(await page.inputValue('#machine-select'), gpu.id);
    assert.equal(await page.inputValue('#new-tokens-select'), '64');
    assert.ok((await page.locator('#machine-info').textContent()).includes(gpu.basis), 'the machine line gives its basis');
    // Back to an encoder: PC1 again, the machine having followed the model.
    await page.selectOption('#model-select', 'bert-base-uncased');
    assert.equal(await page.inputValue('#machine-select'), 'pc1');
    await page.selectOption('#model-select', LLAMA);
    await page.selectOption('#batch-select', '8');
    await page.selectOption('#seq-select', '128');
    await page.click('#visualize-button');
    await page.locator(ROOT).waitFor();
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('machine'), gpu.id);
    assert.equal(url.searchParams.get('new_tokens'), '64');

    const energy = (await api('/api/energy', { model: LLAMA, batch_size: '8', seq_len: '128', new_tokens: '64', machine: gpu.id, max_nodes: '6000' })).body;
    const serving = (await api('/api/serving', { model: LLAMA, machine: gpu.id, batch_size: '8', prompt_len: '128', output_len: '64', max_nodes: '1' })).body;
    // The batch's 8 requests at /api/serving's energy per request: prefill, decode steps
    // (64 of /api/serving's step) and the engine's time, side by side.
    const batch = 8 * serving.energy_per_request_j;
    const total = page.locator('#summary-total');
    assert.ok(Math.abs(Number(await total.getAttribute('data-energy-j')) - batch) <= 1e-9 * batch,
      `the tree's total is 8 x /api/serving's energy per request: ${await total.getAttribute('data-energy-j')} vs ${batch}`);
    const totalText = await total.textContent();
    assert.ok(totalText.startsWith(formatEnergy(batch)), totalText);
    assert.ok(totalText.includes(formatEnergy(serving.energy_per_request_j)), `the serving answer's energy per request: ${totalText}`);
    assert.ok(totalText.includes(formatEnergy(serving.energy_per_output_token_j)), `the serving answer's energy per output token: ${totalText}`);
    const phases = Object.fromEntries(energy.tree.root.children.map((p) => [p.path, p.energy_j]));
    // V1 samples on the GPUs: a phase of its own; vLLM 0.5.4's sampling is in the engine's time.
    const expected = energy.engine === 'vllm-0.11.1' ? ['prefill', 'decode', 'sample', 'engine'] : ['prefill', 'decode', 'engine'];
    assert.deepEqual(Object.keys(phases), expected);
    assert.ok(Math.abs(phases.decode - 64 * serving.step.root.energy_j) <= 1e-9 * batch, 'the decode phase is 64 steps');
    // The cost card prices a request: the serving answer's energy per request.
    await page.fill('#cost-requests', '1');
    assert.equal(await page.locator('.cost-energy').textContent(), formatEnergy(serving.energy_per_request_j));
    const phaseLine = await page.locator('#summary-phases').textContent();
    for (const p of expected) assert.ok(phaseLine.includes(p), phaseLine);
    // The engine's time (and the sampler) ran on no traced node: no counts, not zeros.
    const engineNode = energy.tree.root.children.find((p) => p.path === 'engine');
    assert.equal(engineNode.flops, null);
    assert.equal(engineNode.mem_bytes, null);
    assert.ok(!/engine [^|]*FLOPs/.test(phaseLine), phaseLine);
    assert.ok(/decode [^|]*FLOPs/.test(phaseLine), phaseLine);
    const engine = machines.engines.find((e) => e.id === energy.engine);
    assert.equal(energy.engine, gpu.default_engine);
    const config = await page.locator('#summary-config').textContent();
    assert.ok(config.includes(engine.name) && config.includes(`${energy.num_gpus} × ${energy.machine_name}`), config);
    assert.equal(await page.locator('#summary-basis').textContent(), `Basis: ${energy.basis}`);
    assert.equal(await page.locator('#summary-what').textContent(), `The tree: ${energy.what}.`);
    assert.ok(await page.locator('#summary-memory').isHidden(), 'it fits: no memory note');

    // The tree opens on the costliest decoder layer, its children drawn; no other layer's.
    const layer = costliest(energy.tree.root, /^model\.layers\.\d+$/);
    const drawn = await drawnPaths(page);
    for (const child of layer.children) assert.ok(drawn.includes(child.path), `${child.path} drawn`);
    assert.ok(drawn.some((p) => p.endsWith('.self_attn')) && drawn.some((p) => p.endsWith('.mlp')));
    assert.equal(drawn.filter((p) => /^model\.layers\.\d+\.mlp$/.test(p)).length, 1, 'one layer opened');
    assert.ok(await shownCount(page) > 10, await page.locator('#tree-count').textContent());
    await screenshot(page, '23-main-gpu');

    // A link naming PC1 still opens on PC1, as a forward pass.
    await page.goto(`/?${new URLSearchParams({ model: LLAMA, batch_size: '8', seq_len: '128', machine: 'pc1' })}`);
    await page.locator('#summary-config').filter({ hasText: '· pc1 ·' }).waitFor();
    assert.equal(await page.inputValue('#machine-select'), 'pc1');
    assert.ok(await page.locator('#summary-what').isHidden());
    assert.match(await page.locator('#summary-basis').textContent(), /^Basis: an energy predictor trained on this machine/);
    await closePage(page);
  });

  test('encoders keep PC1; a chosen machine stays; a model that does not fit shows the memory note', async () => {
    const page = await newPage();
    // A link without a machine: an encoder opens on PC1 and the URL says so.
    await page.goto(`/?${new URLSearchParams({ model: 'bert-base-uncased', batch_size: '8', seq_len: '128' })}`);
    await page.locator('#summary-config').filter({ hasText: 'bert-base-uncased · batch 8 · seq 128 · pc1' }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('machine'), 'pc1');
    // The encoder's costliest layer is open.
    const answer = (await api('/api/energy', { model: 'bert-base-uncased', batch_size: '8', seq_len: '128', max_nodes: '6000' })).body;
    const layer = costliest(answer.tree.root, /^encoder\.layer\.\d+$/);
    const drawn = await drawnPaths(page);
    for (const child of layer.children) assert.ok(drawn.includes(child.path), `${child.path} drawn`);

    // A machine chosen by hand stays when the model changes.
    await page.selectOption('#machine-select', 'l4');
    await page.selectOption('#model-select', LLAMA);
    assert.equal(await page.inputValue('#machine-select'), 'l4');

    // Llama-3.1-405B on the decoders' GPU: 16 would hold it, the figures are for 8.
    const big = { model: 'meta-llama/Llama-3.1-405B', batch_size: '8', seq_len: '128', new_tokens: '64' };
    const fit = (await api('/api/energy', { ...big, max_nodes: '1' })).body;
    assert.ok(fit.memory_note && fit.gpus_needed > fit.num_gpus, JSON.stringify(fit.memory_note));
    await page.goto(`/?${new URLSearchParams(big)}`);
    const note = page.locator('#summary-memory');
    await note.waitFor({ state: 'visible' });
    assert.equal(await note.textContent(), `${fit.memory_note}.`);
    assert.match(fit.memory_note, new RegExp(`needs ${fit.gpus_needed} x`));
    assert.ok((await page.locator('#summary-config').textContent()).includes(`${fit.num_gpus} × ${fit.machine_name}`));
    assert.equal(new URL(page.url()).searchParams.get('machine'), fit.machine);
    await closePage(page);
  });

  test('a tree whose layers\' children were left out opens on the costliest layer, loading its children alone', async () => {
    // 1,000 small layers: the first answer stops at the layers (91,033 nodes in all).
    const config = { model_type: 'qwen3', vocab_size: 1000, hidden_size: 128, intermediate_size: 256, num_hidden_layers: 1000,
      num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32, max_position_embeddings: 512 };
    const response = await fetch(`${server.baseUrl}/api/energy`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ config, batch_size: 2, seq_len: 32, machine: 'pc1', max_nodes: 6000 }),
    });
    const answer = await response.json();
    const layer = costliest(answer.tree.root, /^model\.layers\.\d+$/);
    assert.ok(layer.children_omitted > 0 && !(layer.children || []).length, 'the first answer leaves the layer\'s children out');

    const page = await newPage();
    await openForm(page);
    await page.selectOption('#model-select', 'bert-base-uncased');
    await page.selectOption('#batch-select', '2');
    await page.selectOption('#seq-select', '32');
    await page.click('#paste-config summary');
    await page.fill('#config-text', JSON.stringify(config));
    await page.click('#config-visualize');
    await page.locator(`g.tree-node[data-path="${layer.path}.mlp"]`).waitFor();
    const drawn = await drawnPaths(page);
    assert.equal(drawn.filter((p) => /^model\.layers\.\d+\.mlp$/.test(p)).length, 1, 'the costliest layer only');
    // The first answer and that one layer's subtree: no more.
    const facts = await page.locator('#summary-facts').textContent();
    const loaded = Number(facts.match(/([\d,]+) of ([\d,]+) nodes loaded/)[1].replace(/,/g, ''));
    const first = JSON.stringify(answer.tree.root).match(/"index":/g).length;
    const subtree = (await (await fetch(`${server.baseUrl}/api/energy`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ config, batch_size: 2, seq_len: 32, machine: 'pc1', max_nodes: 6000, root: layer.index }),
    })).json()).tree.root;
    const below = JSON.stringify(subtree).match(/"index":/g).length - 1;
    assert.equal(loaded, first + below, facts);
    await closePage(page);
  });

  test('what if: FP8 weights against as stored, a config edit, a refused change', async () => {
    const page = await newPage();
    await openForm(page);
    await page.click('#whatif-section summary');
    for (const [id, value] of [['#whatif-model', SIDE_A.model], ['#whatif-machine', SIDE_A.machine], ['#whatif-gpus', SIDE_A.num_gpus],
      ['#whatif-batch', SIDE_A.batch_size], ['#whatif-prompt', SIDE_A.prompt_len], ['#whatif-output', SIDE_A.output_len]]) {
      assert.equal(await page.inputValue(id), value, `${id} opens on ${value}`);
    }
    await page.click('#whatif-run');
    await page.locator('#whatif-status .error-message').filter({ hasText: 'at least one change' }).waitFor();

    await page.selectOption('#whatif-b-quantization', 'fp8');
    await page.click('#whatif-run');
    await page.locator('#whatif-table').waitFor();
    const fp8 = (await api('/api/whatif', { ...SIDE_A, 'b.quantization': 'fp8' })).body;
    assert.ok(fp8.b.energy_per_output_token_j < fp8.a.energy_per_output_token_j, 'FP8 weights spend less');
    const row = page.locator('#whatif-table tr[data-figure="energy_per_output_token_j"]');
    assert.equal(await row.locator('.whatif-a').textContent(), formatEnergy(fp8.a.energy_per_output_token_j));
    assert.equal(await row.locator('.whatif-b').textContent(), formatEnergy(fp8.b.energy_per_output_token_j));
    const pct = (100 * (fp8.b.energy_per_output_token_j - fp8.a.energy_per_output_token_j)) / fp8.a.energy_per_output_token_j;
    assert.equal(await row.locator('.whatif-change').textContent(), formatSignedPercent(pct));
    assert.ok(await row.locator('.whatif-change.delta-down').count() === 1, 'a decrease, coloured as one');
    assert.match(await page.locator('#whatif-changes').textContent(), /quantization → fp8/);

    // The bars: the kinds that change, largest first; the first a Linear projection, lower in B.
    const changed = fp8.by_kind.filter((k) => k.delta_j !== 0);
    const bars = await page.locator('.whatif-bar').evaluateAll((gs) => gs.map((g) => ({
      path: g.dataset.path, cls: g.dataset.class, delta: Number(g.dataset.delta), decrease: g.classList.contains('decrease'),
    })));
    assert.equal(bars.length, Math.min(16, changed.length));
    assert.deepEqual(bars.map((b) => b.path), changed.slice(0, bars.length).map((k) => k.path));
    assert.equal(bars[0].cls, 'Linear');
    assert.match(bars[0].path, /_proj$/);
    assert.ok(bars[0].delta < 0 && bars[0].decrease);

    // The tree of differences: opened along the largest change, children largest |B − A| first.
    const rootItem = page.locator('#whatif-tree li.diff-node[data-path=""]');
    assert.equal(await rootItem.getAttribute('aria-expanded'), 'true');
    assert.ok(await rootItem.locator(':scope > .diff-row .diff-delta.delta-down').count() === 1);
    const modelDeltas = await page.locator('#whatif-tree li.diff-node[data-path="model"] > ul > li')
      .evaluateAll((lis) => lis.map((li) => [li.dataset.path, Math.abs(Number(li.dataset.delta))]));
    assert.ok(modelDeltas.length > 30, `${modelDeltas.length} children of model listed`);
    assert.ok(modelDeltas.every(([, d], i) => i === 0 || modelDeltas[i - 1][1] >= d), 'largest change first');
    assert.deepEqual(modelDeltas.map(([p]) => p), nodeAt(fp8.tree, 'model').children.map((c) => c.path), 'in the server\'s order');
    await page.setViewportSize({ width: 1440, height: 1200 });
    await page.locator('#whatif-run').evaluate((e) => e.scrollIntoView());
    await screenshot(page, '24-whatif');

    // A config edit: two key/value heads instead of eight shrink k_proj.
    await page.selectOption('#whatif-b-quantization', '');
    await page.fill('#whatif-b-config', 'num_key_value_heads=2');
    await page.click('#whatif-run');
    await page.locator('#whatif-changes').filter({ hasText: 'config.num_key_value_heads → 2' }).waitFor();
    const kProj = page.locator('.whatif-bar[data-path="model.layers.*.self_attn.k_proj"]');
    assert.ok(Number(await kProj.getAttribute('data-delta')) < 0 && await kProj.evaluate((g) => g.classList.contains('decrease')));
    // In the tree: open the first layer's attention, its k_proj is lower in B.
    const attention = page.locator('#whatif-tree li.diff-node[aria-expanded="true"] > ul > li[data-path$=".self_attn"]').first();
    await attention.locator(':scope > .diff-row .diff-toggle').click();
    const kRow = attention.locator(':scope > ul > li[data-path$=".self_attn.k_proj"]');
    assert.ok(Number(await kRow.getAttribute('data-delta')) < 0);
    assert.equal(await kRow.locator(':scope > .diff-row .diff-delta.delta-down').count(), 1);

    // A key the config lacks (misspelt): set, and said, since the family may not read it.
    await page.fill('#whatif-b-config', 'num_key_value_head=2');
    await page.click('#whatif-run');
    await page.locator('.whatif-note').filter({ hasText: "'num_key_value_head' was not in the config" }).waitFor();
    await page.fill('#whatif-b-config', 'num_key_value_heads=2');

    // A change the server does not take: its message, as it is.
    await page.fill('#whatif-b-config', 'b.colour=blue');
    await page.click('#whatif-run');
    const refused = await api('/api/whatif', { ...SIDE_A, 'b.colour': 'blue' });
    assert.equal(refused.status, 400);
    const message = page.locator('#whatif-status .error-message');
    await message.waitFor();
    assert.equal(await message.textContent(), refused.body.error.message);
    assert.match(refused.body.error.message, /colour/);
    assert.equal(await page.locator('#whatif-table').count(), 0, 'no figures beside a refusal');
    // A line that is not KEY=VALUE is named before anything is asked.
    await page.fill('#whatif-b-config', 'num_key_value_heads=2\nfour heads');
    await page.click('#whatif-run');
    await page.locator('#whatif-status .error-message').filter({ hasText: 'line 2 of the config.json edits is not KEY=VALUE' }).waitFor();

    // Side A taken from the serving card: its engine goes along.
    await page.click('#serving-section summary');
    await page.selectOption('#serving-engine', 'vllm-0.5.4');
    await page.fill('#serving-batch', '32');
    await page.click('#whatif-from-serving');
    assert.equal(await page.inputValue('#whatif-batch'), '32');
    assert.match(await page.locator('#whatif-a-extra').textContent(), /engine vLLM 0\.5\.4/);
    await page.fill('#whatif-b-config', '');
    await page.selectOption('#whatif-b-engine', 'vllm-0.11.1');
    await page.click('#whatif-run');
    await page.locator('#whatif-changes').filter({ hasText: 'engine → vllm-0.11.1' }).waitFor();
    const setups = await page.locator('#whatif-setups').textContent();
    assert.match(setups, /A: .*vLLM 0\.5\.4 · 32 requests running/);
    assert.match(setups, /B: .*vLLM 0\.11\.1 \(V1 engine\)/);
    await closePage(page);
  });
});
