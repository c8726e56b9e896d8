// The advisor, the leaderboard and the accuracy-energy chart against the real `irene serve`.
// What the page shows is checked against the server's own JSON for the same request, so a
// test fails when the page drops, mislabels or misorders what the API says.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { formatEnergy } from '../js/format.js';
import { launchBrowser, openPage, screenshot } from './support/browser.mjs';
import { startIreneServer } from './support/irene-server.mjs';

const TEST_TIMEOUT = 180_000;
const MODEL = 'meta-llama/Llama-3.1-8B';
// A small search: two GPUs of the catalogue, at most two of them.
const SEARCH = { model: MODEL, task: 'chat', itl_slo_ms: '50', max_gpus: '2', machines: 'h100-sxm5-80gb,l4' };
const LEADERBOARD = { tasks: 'chat,reasoning', itl_slo_ms: '100', max_gpus: '8' };

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

async function api(path, params) {
  const response = await fetch(`${server.baseUrl}${path}?${new URLSearchParams(params)}`);
  return { status: response.status, body: await response.json() };
}

async function closePage(page) {
  assert.deepEqual(page.scriptErrors, [], 'the page threw no script error');
  await page.context().close();
}

function newPage() {
  return openPage(browser, server.baseUrl);
}

async function openAdvisor() {
  const page = await newPage();
  await page.goto('/');
  await page.locator('#model-select:not([disabled])').waitFor();
  await page.click('#advisor-section summary');
  await page.selectOption('#advisor-model', MODEL);
  await page.selectOption('#advisor-task', 'chat');
  await page.selectOption('#advisor-machines', SEARCH.machines.split(','));
  await page.selectOption('#advisor-max-gpus', SEARCH.max_gpus);
  return page;
}

async function advise(page, itl) {
  await page.fill('#advisor-itl', itl);
  await page.click('#advisor-run');
}

// The numbers behind the rows in view, in their order (the table only holds those).
async function columnValues(page, column) {
  return page.locator(`#leaderboard-table .vt-row [data-col="${column}"]`)
    .evaluateAll((cells) => cells.map((c) => Number(c.querySelector('[data-value]')?.dataset.value ?? NaN)));
}

async function columnTexts(page, column) {
  return page.locator(`#leaderboard-table .vt-row [data-col="${column}"]`).allTextContents();
}

async function openLeaderboard(page) {
  await page.goto('/');
  await page.locator('#model-select:not([disabled])').waitFor();
  await page.click('#leaderboard-section summary');
  await page.locator('#leaderboard-summary').waitFor();
}

function ordered(values, descending) {
  return values.every((v, i) => i === 0 || (descending ? values[i - 1] >= v : values[i - 1] <= v));
}

describe('advisor, leaderboard and accuracy-energy trade-off', { timeout: TEST_TIMEOUT }, () => {
  test('advisor: the pick with its figures and explanation, the frontier with one chosen point, a point opens its step tree', async () => {
    const { status, body: advice } = await api('/api/advise', SEARCH);
    assert.equal(status, 200);
    assert.ok(advice.best, 'a setup meets 50 ms');
    const page = await openAdvisor();
    await advise(page, '50');
    await page.locator('#advisor-pick').waitFor();

    assert.equal(await page.locator('#advisor-pick .advisor-setup').textContent(), advice.best.setup);
    const counts = await page.locator('#advisor-counts').textContent();
    for (const n of [advice.searched, advice.fitting, advice.meeting]) assert.ok(counts.includes(n.toLocaleString('en-US')), counts);
    const level = Math.round(100 * advice.explanation.answer.intervals.level);
    assert.match(await page.locator('#advisor-figures thead').textContent(), new RegExp(`${level} % interval`));
    const energyRow = await page.locator('#advisor-figures tr[data-figure="energy_per_output_token_j"]').textContent();
    const [low, high] = advice.explanation.answer.intervals.energy_per_output_token_j;
    assert.ok(energyRow.includes(formatEnergy(advice.best.energy_per_output_token_j)), energyRow);
    assert.ok(energyRow.includes(`${formatEnergy(low)} – ${formatEnergy(high)}`), `the interval: ${energyRow}`);
    for (const figure of ['energy_per_request_j', 'itl_median_s', 'ttft_s', 'throughput_per_gpu', 'power_w']) {
      assert.equal(await page.locator(`#advisor-figures tr[data-figure="${figure}"]`).count(), 1, figure);
    }
    assert.match(await page.locator('#advisor-cost').textContent(), /Per million output tokens: .*kWh.*USD.*CO₂.*assumption/s);
    assert.ok((await page.locator('#advisor-time-split').textContent()).includes(advice.explanation.time_split));
    const nodes = page.locator('#advisor-top-nodes tbody tr');
    assert.equal(await nodes.count(), advice.explanation.top_nodes.length);
    assert.ok((await nodes.first().textContent()).includes(advice.explanation.top_nodes[0].path));
    assert.ok((await page.locator('#advisor-basis').textContent()).includes(advice.explanation.answer.basis));
    const runnerUp = await page.locator('#advisor-runner-up').textContent();
    assert.ok(runnerUp.includes(advice.runner_up.setup) && runnerUp.includes(advice.why), runnerUp);

    // The frontier: every point the answer lists, the pick marked once, left of the objective.
    const points = page.locator('#advisor-chart .frontier-point');
    assert.equal(await points.count(), advice.frontier_itl.length);
    const chosen = page.locator('#advisor-chart .frontier-point.chosen');
    assert.equal(await chosen.count(), 1);
    assert.equal(await chosen.getAttribute('data-setup'), advice.best.setup);
    const objectiveX = Number(await page.locator('#advisor-chart .frontier-objective').getAttribute('x1'));
    assert.ok(Number(await chosen.getAttribute('cx')) < objectiveX, 'the pick meets the ITL objective');
    const missesX = await page.locator('#advisor-chart .frontier-point.misses').evaluateAll((cs) => cs.map((c) => Number(c.getAttribute('cx'))));
    assert.ok(missesX.length > 0 && missesX.every((x) => x > objectiveX), 'without a TTFT objective only points right of the line miss');
    assert.match(await chosen.locator('title').textContent(), /the pick: .*\n.*batch \d+/);
    await page.locator('#advisor-section').scrollIntoViewIfNeeded();
    await screenshot(page, '20-advisor');

    // A point of the frontier (one with data-parallel replicas where there is one) opens in
    // the serving card, and its step's tree in the main views.
    const others = advice.frontier_itl.filter((p) => p.setup !== advice.best.setup);
    const target = others.find((p) => p.data_parallel > 1) || others[0];
    await page.click(`#advisor-chart .frontier-point[data-setup=${JSON.stringify(target.setup)}]`);
    await page.locator('#summary-config').filter({ hasText: 'one steady-state serving step' }).waitFor();
    await page.locator('g.tree-node[data-path=""]').waitFor();
    assert.ok(await page.locator('#serving-section').evaluate((d) => d.open), 'the serving card opened');
    assert.equal(await page.inputValue('#serving-model'), MODEL);
    assert.equal(await page.inputValue('#serving-machine'), target.machine);
    assert.equal(await page.inputValue('#serving-gpus'), String(target.num_gpus));
    assert.equal(await page.inputValue('#serving-dp'), String(target.data_parallel));
    assert.equal(await page.inputValue('#serving-batch'), String(target.batch_size));
    assert.equal(await page.inputValue('#serving-quantization'), target.quantization);
    assert.equal(await page.inputValue('#serving-engine'), target.engine);
    assert.equal(await page.inputValue('#serving-prompt'), String(advice.request.prompt_len));
    assert.equal(await page.inputValue('#serving-output'), String(advice.request.output_len));
    const summary = await page.locator('#summary-config').textContent();
    assert.ok(summary.includes(`${MODEL} · ${target.batch_size} requests running · ${target.num_gpus} × `), summary);
    // The same setup: the serving answer's energy per output token is the advisor's.
    assert.ok((await page.locator('#summary-total').textContent()).includes(formatEnergy(target.energy_per_output_token_j)));
    assert.ok((await page.locator('#serving-result tr[data-figure="energy_per_output_token_j"]').textContent())
      .includes(formatEnergy(target.energy_per_output_token_j)));
    await closePage(page);
  });

  test('advisor: an impossible objective names the closest miss, nothing that fits says what it needs, a bad objective shows the server\'s message', async () => {
    const page = await openAdvisor();
    const { body: missed } = await api('/api/advise', { ...SEARCH, itl_slo_ms: '0.1' });
    assert.equal(missed.best, null);
    await advise(page, '0.1');
    const miss = page.locator('#advisor-miss');
    await miss.waitFor();
    const by = Math.round((missed.closest_miss.slo_ratio - 1) * 100).toLocaleString('en-US');
    const text = await miss.textContent();
    assert.match(text, /^Nothing meets the objectives/);
    assert.ok(text.includes(`closest: ${missed.closest_miss.setup} misses by ${by} %`), text);
    assert.equal(await page.locator('#advisor-pick').count(), 0);
    assert.equal(await page.locator('#advisor-chart .frontier-point.chosen').count(), 0);
    assert.equal(await page.locator('#advisor-chart .frontier-point.closest').count(), 1);

    // Nothing fits: Llama-3.1-405B on one L4.
    const tooBig = { model: 'meta-llama/Llama-3.1-405B', task: 'chat', itl_slo_ms: '50', max_gpus: '1', machines: 'l4' };
    const { body: none } = await api('/api/advise', tooBig);
    assert.equal(none.fitting, 0);
    await page.selectOption('#advisor-model', tooBig.model);
    await page.selectOption('#advisor-machines', ['l4']);
    await page.selectOption('#advisor-max-gpus', '1');
    await advise(page, '50');
    await page.locator('#advisor-needs').waitFor();
    assert.ok((await page.locator('#advisor-needs').textContent()).includes(none.needs));
    assert.equal(await page.locator('#advisor-chart .frontier-point').count(), 0);

    // A 400: the server's message in the panel, nothing thrown.
    const { status, body: refused } = await api('/api/advise', { ...tooBig, itl_slo_ms: '0' });
    assert.equal(status, 400);
    await advise(page, '0');
    const message = page.locator('#advisor-status .status-error .error-message');
    await message.waitFor();
    assert.equal(await message.textContent(), refused.error.message);
    assert.equal(await page.locator('#advisor-result').textContent(), '');
    await closePage(page);
  });

  test('leaderboard: a loading state, the rows, sorting, filters and the CSV link', async () => {
    const { body: board } = await api('/api/leaderboard', LEADERBOARD);
    const page = await newPage();
    // Held until the loading state has been seen: no race with a fast answer.
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route('**/api/leaderboard?*', async (route) => {
      await held;
      await route.continue();
    });
    await page.goto('/');
    await page.locator('#model-select:not([disabled])').waitFor();
    await page.click('#leaderboard-section summary');
    await page.locator('#leaderboard-loading').waitFor();
    assert.ok(await page.locator('#leaderboard-load').isDisabled(), 'no second request while one is pending');
    release();
    await page.locator('#leaderboard-summary').waitFor();
    assert.equal(await page.locator('#leaderboard-loading').count(), 0);

    const total = board.rows.length;
    assert.ok(total > 100, `${total} rows`);
    assert.equal(await page.locator('#leaderboard-count').textContent(), `${total.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} rows`);
    assert.ok(await page.locator('#leaderboard-table .vt-row').count() < 60, 'only the rows in view are in the page');

    // Sorted by energy per response, least first; a click on the header reverses it.
    const header = page.locator('#leaderboard-table [role=columnheader]').filter({ hasText: 'Energy / response' });
    assert.equal(await header.getAttribute('aria-sort'), 'ascending');
    const ascending = await columnValues(page, 'response');
    assert.ok(ordered(ascending, false), `ascending: ${ascending}`);
    assert.equal(ascending[0], Math.min(...board.rows.map((r) => r.energy_per_response_j)));
    const firstBefore = await columnTexts(page, 'model');
    await page.click('#leaderboard-table button.vt-sort[data-sort="response"]');
    assert.equal(await header.getAttribute('aria-sort'), 'descending');
    const descending = await columnValues(page, 'response');
    assert.ok(ordered(descending, true), `descending: ${descending}`);
    assert.equal(descending[0], Math.max(...board.rows.map((r) => r.energy_per_response_j)));
    assert.notDeepEqual(await columnTexts(page, 'model'), firstBefore, 'the order changed');
    // Per output token: the reasoning task's longer answers no longer weigh.
    await page.click('#leaderboard-table button.vt-sort[data-sort="token"]');
    const perToken = await columnValues(page, 'token');
    assert.ok(ordered(perToken, false));
    assert.equal(perToken[0], Math.min(...board.rows.map((r) => r.energy_per_output_token_j)));

    // Filters: one task, then a machine by text, then a basis.
    await page.selectOption('#leaderboard-task-filter', 'reasoning');
    const reasoning = board.rows.filter((r) => r.task === 'reasoning');
    assert.match(await page.locator('#leaderboard-count').textContent(), new RegExp(`^${reasoning.length.toLocaleString('en-US')} of `));
    assert.ok((await columnTexts(page, 'task')).every((t) => t === 'reasoning'));
    await page.fill('#leaderboard-search', 'l40s');
    const onL40s = reasoning.filter((r) => r.machine.includes('l40s') || r.model.toLowerCase().includes('l40s'));
    assert.ok(onL40s.length > 0 && onL40s.length < reasoning.length);
    assert.match(await page.locator('#leaderboard-count').textContent(), new RegExp(`^${onL40s.length} of `));
    assert.ok((await columnTexts(page, 'machine')).every((m) => m === 'l40s'));
    await page.fill('#leaderboard-search', '');
    await page.selectOption('#leaderboard-task-filter', '');
    await page.selectOption('#leaderboard-basis', 'measured');
    const measured = board.rows.filter((r) => r.measured);
    assert.match(await page.locator('#leaderboard-count').textContent(), new RegExp(`^${measured.length} of `));
    if (measured.length) {
      const badges = await page.locator('#leaderboard-table .vt-row .measured-badge').count();
      assert.equal(badges, Math.min(measured.length, await page.locator('#leaderboard-table .vt-row').count()), 'every measured row marked');
    }
    await page.selectOption('#leaderboard-basis', 'calibrated');
    const calibrated = board.rows.filter((r) => r.basis === 'calibrated');
    assert.match(await page.locator('#leaderboard-count').textContent(), new RegExp(`^${calibrated.length} of `));
    assert.ok((await columnTexts(page, 'basis')).every((b) => b === 'calibrated'));
    await page.locator('#leaderboard-section').scrollIntoViewIfNeeded();
    await screenshot(page, '21-leaderboard');

    // The CSV link: the same leaderboard, as the server writes it.
    const href = await page.locator('#leaderboard-csv').getAttribute('href');
    const params = new URL(href, server.baseUrl).searchParams;
    assert.equal(params.get('format'), 'csv');
    assert.equal(params.get('tasks'), LEADERBOARD.tasks);
    const csv = await fetch(new URL(href, server.baseUrl));
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type'), /^text\/csv/);
    const lines = (await csv.text()).trim().split('\n');
    assert.match(lines[0], /^task,model,machine,num_gpus,.*energy_per_response_j,energy_per_output_token_j/);
    assert.equal(lines.length - 1, total, 'one line per row');

    // A row opens its setup in the serving card, and its step's tree: the same energy.
    const key = await page.locator('#leaderboard-table .vt-row').first().getAttribute('data-key');
    const row = board.rows.find((r) => `${r.task}|${r.model}|${r.machine}` === key);
    const lengths = board.options.tasks.find((t) => t.id === row.task);
    await page.locator('#leaderboard-table .vt-row').first().click();
    await page.locator('#summary-config').filter({ hasText: 'one steady-state serving step' }).waitFor();
    assert.equal(await page.inputValue('#serving-model'), row.model);
    assert.equal(await page.inputValue('#serving-machine'), row.machine);
    assert.equal(await page.inputValue('#serving-batch'), String(row.batch_size));
    assert.equal(await page.inputValue('#serving-output'), String(lengths.output_len));
    assert.ok((await page.locator('#summary-total').textContent()).includes(formatEnergy(row.energy_per_output_token_j)));

    // A bad objective: the server's message, the table kept.
    await page.fill('#leaderboard-itl', '0');
    await page.click('#leaderboard-load');
    const message = page.locator('#leaderboard-status .status-error .error-message');
    await message.waitFor();
    assert.match(await message.textContent(), /itl_slo_ms/);
    await closePage(page);
  });

  test('accuracy against energy: one point per model with a score, the Pareto front drawn', async () => {
    const { body: board } = await api('/api/leaderboard', LEADERBOARD);
    const page = await newPage();
    await openLeaderboard(page);
    await page.locator('#tradeoff-chart svg.tradeoff-svg').waitFor();
    assert.equal(await page.inputValue('#tradeoff-benchmark'), 'GPQA-Diamond');

    // Each model at its least energy per response for the task; models without a score out.
    const expect = (task, benchmark, machine) => {
      const cheapest = new Map();
      for (const r of board.rows) {
        if (r.task !== task || (machine && r.machine !== machine)) continue;
        if (!cheapest.has(r.model) || r.energy_per_response_j < cheapest.get(r.model).energy_per_response_j) cheapest.set(r.model, r);
      }
      const scored = [...cheapest.values()].filter((r) => board.scores[r.model]?.[benchmark]?.score != null);
      const sorted = scored.map((r) => ({ r, s: board.scores[r.model][benchmark].score }))
        .sort((a, b) => a.r.energy_per_response_j - b.r.energy_per_response_j || b.s - a.s);
      let best = -Infinity;
      const front = sorted.filter(({ s }) => (s > best ? ((best = s), true) : false)).map(({ r }) => r.model);
      return { models: cheapest.size, scored: scored.length, front };
    };

    const task = await page.inputValue('#tradeoff-task');
    const chat = expect(task, 'GPQA-Diamond', '');
    assert.ok(chat.scored > 3 && chat.scored < chat.models, `${chat.scored} of ${chat.models} models scored`);
    assert.equal(await page.locator('#tradeoff-chart .tradeoff-point').count(), chat.scored);
    assert.equal(await page.locator('#tradeoff-note').getAttribute('data-points'), String(chat.scored));
    assert.match(await page.locator('#tradeoff-note').textContent(), new RegExp(`; ${chat.models - chat.scored} without one left out`));
    const pareto = await page.locator('#tradeoff-chart .tradeoff-point.pareto').evaluateAll((cs) => cs.map((c) => c.dataset.model));
    assert.deepEqual(pareto.sort(), [...chat.front].sort());
    assert.match(await page.locator('#tradeoff-chart path.tradeoff-pareto').getAttribute('d'), /^M[\d.]+,[\d.]+(H|V|L)/);
    const tip = await page.locator(`#tradeoff-chart .tradeoff-point[data-model=${JSON.stringify(chat.front[0])}] title`).textContent();
    const entry = board.scores[chat.front[0]]['GPQA-Diamond'];
    assert.ok(tip.includes(chat.front[0]) && tip.includes(String(entry.score)) && tip.includes(entry.source), tip);
    await page.locator('#tradeoff-chart').scrollIntoViewIfNeeded();
    await screenshot(page, '22-tradeoff');

    // Another benchmark on one machine: the points follow.
    await page.selectOption('#tradeoff-benchmark', 'MMLU-Pro');
    await page.selectOption('#tradeoff-machine', 'h100-sxm5-80gb');
    const h100 = expect(task, 'MMLU-Pro', 'h100-sxm5-80gb');
    assert.equal(await page.locator('#tradeoff-chart .tradeoff-point').count(), h100.scored);
    assert.equal(await page.locator('#tradeoff-chart .tradeoff-point.pareto').count(), h100.front.length);
    await closePage(page);
  });
});
