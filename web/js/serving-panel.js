// Serving: the steady state of an LLM server (GET /api/serving) on a machine of the
// catalogue under a serving engine: energy per output token and per request, power, time
// per token and throughput, each with its interval (and, given a benchmark run, the time
// per token averaged over it; under engines with chunked prefill the inter-token latency's
// median and 90th percentile and the time to the first token); whether the batch fits the
// engine's memory; cost and CO2 per million output tokens; a sweep
// against batch size or GPUs with the measured ML.ENERGY points of the same architecture
// drawn beside it; and the tree of one steady-state step, handed to the main views.
// The advisor and the leaderboard open their setups here (openSetup), so a setup they name
// is predicted, explained and drawn by the same code as one typed in.

import { fetchServing } from './api.js';
import { DEFAULTS, costOf } from './cost-panel.js';
import {
  escapeHtml, formatCo2, formatEnergy, formatEnergyTick, formatKwh, formatMoney, formatPercent, formatSeconds,
} from './format.js';
import { fillGrouped } from './selection-form.js';

const d3 = window.d3;
export const SWEEP_BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
export const SWEEP_GPUS = [1, 2, 4, 8, 16];
const MILLION = 1e6;

const FIGURES = [
  ['energy_per_output_token_j', 'Energy per output token', formatEnergy],
  ['energy_per_request_j', 'Energy per request', formatEnergy],
  ['power_w', 'Power (all GPUs)', (w) => `${w.toFixed(0)} W`],
  ['tpot_s', 'Time per output token', formatSeconds],
  ['throughput_tokens_per_s', 'Throughput', (t) => `${Math.round(t).toLocaleString('en-US')} tokens/s`],
  // The latency users see, where the engine's model gives it (null otherwise: no row).
  ['itl_median_s', 'Inter-token latency, median', formatSeconds],
  ['itl_p90_s', 'Inter-token latency, 90th percentile', formatSeconds],
  ['ttft_s', 'Time to first token (no queueing)', formatSeconds],
];

// Whether the running batch fits the engine's memory: the largest that does, and what
// the figures are for when it does not.
function memoryLine(memory) {
  if (!memory) return '';
  const bytes = (b) => (b >= 1e9 ? `${(b / 1e9).toFixed(1)} GB` : `${(b / 1e6).toFixed(1)} MB`);
  const text = memory.note
    || `Fits: weights ${bytes(memory.weights_bytes)}, ${bytes(memory.kv_bytes_per_request)} of KV cache a request; up to ${memory.max_batch.toLocaleString('en-US')} running requests.`;
  const warn = memory.batch_capped || !memory.fits;
  return `<div class="small ${warn ? 'text-warning-emphasis' : ''}" id="serving-memory">${escapeHtml(text)}</div>`;
}

// Where the server's time goes between two decode iterations: the decode iteration's
// kernels and the engine's own time in it (together the time per token), then the
// prefills of the prompts admitted meanwhile and the stalls of admitting them, and for
// pipelined engines the wait for the host they share; the sampler and the wait shown only
// where there is one (engines that sample on the GPUs; pipelines).
// What the prefix cache took off the prefill: the share applied, or why none was.
function cacheLine(a, request) {
  const asked = request && Number(request.prompt_cached_share);
  if (!(asked > 0)) return '';
  const text = a.prompt_cached_share > 0
    ? `Prefix cache: ${formatPercent(a.prompt_cached_share, 1)} of each prompt's tokens found cached, not prefilled.`
    : `Prefix cache: none applied (${escapeHtml(a.engine_name || a.engine)} caches none of this model's prompts).`;
  return `<div class="small" id="serving-cache">${text}</div>`;
}

function timeSplit(split) {
  if (!split) return '';
  const parts = [['decode_kernels', 'decode kernels'], ['sampler', 'the sampler'], ['decode_engine', 'the engine in decode'], ['prefill', 'prefill'], ['admission', 'admission stalls'], ['host_wait', 'waiting for the host']];
  const total = parts.reduce((sum, [key]) => sum + (split[key] || 0), 0);
  // The parts this engine and layout have: V1 samples on the GPUs and admits prompts
  // without a stall, vLLM 0.5.4 the other way round; one engine waits for no other.
  const shown = (key) => !['sampler', 'admission', 'host_wait'].includes(key) || split[key] > 0;
  const shares = parts.filter(([key]) => shown(key)).map(([key, label]) => `${label} ${Math.round((100 * split[key]) / total)} %`).join(', ');
  return `<div class="small" id="serving-time-split">Time: ${(1000 * total).toPrecision(3)} ms a decode iteration and the prefills after it: ${shares}.</div>`;
}

// How the GPUs are split, where it is more than tensor parallelism alone (replicas of
// attention, experts spread over the GPUs): a setup from the advisor may be either.
function layout(a) {
  if (!(a.data_parallel > 1) && !a.expert_parallel) return '';
  const dp = a.data_parallel > 1 ? ` × DP ${a.data_parallel}` : '';
  return ` on ${a.num_gpus} GPUs (TP ${a.tensor_parallel}${dp}${a.expert_parallel ? ', experts in parallel' : ''})`;
}

// One figure's row: its value and its interval (or that it has none).
function figureRow(key, label, value, interval, format) {
  const range = Array.isArray(interval) ? `${format(interval[0])} – ${format(interval[1])}` : 'no interval';
  return `<tr data-figure="${key}" data-value="${value}"><th scope="row" class="fw-normal">${escapeHtml(label)}</th><td class="fw-semibold">${format(value)}</td>`
    + `<td class="text-body-secondary">${range}</td></tr>`;
}

// The time per token averaged over a benchmark run, its drain included, when asked for.
function runRow(a) {
  if (!a.run) return '';
  const label = `Time per token over a run of ${a.run.requests.toLocaleString('en-US')} requests (≤ ${a.run.max_output_len} tokens each)`;
  return figureRow('run_tpot_s', label, a.run.tpot_s, a.intervals.run_tpot_s, formatSeconds);
}

// Chooses a value in a <select>, adding it when the list lacks it (a format the server
// knows and the list does not name), so the form always shows what is asked.
function setSelect(select, value) {
  if (![...select.options].some((o) => o.value === value)) select.add(new Option(value, value));
  select.value = value;
}

export class ServingPanel {
  constructor(elements, { models, catalogue, engines = [], onStatus, onShowTree }) {
    // { model, machine, gpus, stages, batch, prompt, output, runRequests, outputCap, run, info, engine,
    //   quantization, dataParallel, expertParallel, kvCache, cached, result, over, chart, showTree }
    this.elements = elements;
    this.catalogue = catalogue;
    this.engines = engines;
    this.onStatus = onStatus;
    this.onShowTree = onShowTree;
    this.answer = null;
    this.runId = 0;
    fillGrouped(elements.model, models.filter((m) => m.decoder));
    if ([...elements.model.options].some((o) => o.value === 'meta-llama/Llama-3.1-8B')) {
      elements.model.value = 'meta-llama/Llama-3.1-8B';
    }
    this.fillMachines();
    elements.engine.replaceChildren(new Option('the newest calibrated on the machine', ''),
      ...engines.map((e) => new Option(e.name, e.id)));
    elements.machine.addEventListener('change', () => this.describeMachine());
    elements.engine.addEventListener('change', () => this.describeMachine());
    elements.run.addEventListener('click', () => this.run());
    elements.over.addEventListener('change', () => this.runSweep());
    elements.showTree.addEventListener('click', () => this.answer && this.onShowTree(this.answer, this.answerRequest));
    this.describeMachine();
  }

  // Calibrated machines first (with their cross-validated error), then the spec-only ones.
  fillMachines() {
    const select = this.elements.machine;
    const groups = [
      ['calibrated on measured serving', this.catalogue.filter((m) => m.calibrated)],
      ['spec sheet only', this.catalogue.filter((m) => !m.calibrated && m.kind === 'gpu')],
    ];
    select.replaceChildren(...groups.filter(([, members]) => members.length).map(([label, members]) => {
      const group = document.createElement('optgroup');
      group.label = label;
      for (const m of members) {
        const error = m.crossval_error_pct && m.crossval_error_pct.energy_per_token;
        const text = `${m.name}${error != null ? ` (±${error.toFixed(1)} % energy, cross-validated)` : ' (spec-only)'}`;
        group.appendChild(new Option(text, m.id));
      }
      return group;
    }));
    if (this.catalogue.some((m) => m.id === 'h100-sxm5-80gb')) select.value = 'h100-sxm5-80gb';
  }

  describeMachine() {
    const m = this.catalogue.find((c) => c.id === this.elements.machine.value);
    if (!m) {
      this.elements.info.textContent = '';
      return;
    }
    const name = (id) => (this.engines.find((e) => e.id === id) || { name: id }).name;
    const calibrated = (m.calibrated_engines || []).map(name).join(', ') || 'none';
    const engine = this.elements.engine.value || m.default_engine;
    this.elements.info.textContent = `${m.name}: ${m.serving_basis}. Engines calibrated on it: ${calibrated}; answers under ${name(engine)}.`;
  }

  // The form as the API's parameters; throws an Error naming a field out of its range.
  request(extra = {}) {
    const e = this.elements;
    const cachedPct = e.cached.value.trim() === '' ? 0 : Number(e.cached.value);
    if (!(cachedPct >= 0 && cachedPct < 100)) throw new Error(`Cached % must be from 0 to below 100, got "${e.cached.value}"`);
    return {
      model: e.model.value,
      machine: e.machine.value,
      num_gpus: e.gpus.value,
      pipeline_parallel: e.stages.value,
      batch_size: e.batch.value,
      prompt_len: e.prompt.value,
      output_len: e.output.value,
      ...(e.engine.value ? { engine: e.engine.value } : {}),
      ...(e.quantization.value ? { quantization: e.quantization.value } : {}),
      // The layout and the KV cache's format only when not the defaults, so a plain request
      // stays what it was (and is answered from the same cache entry).
      ...(Number(e.dataParallel.value) > 1 ? { data_parallel: e.dataParallel.value } : {}),
      ...(e.expertParallel.checked ? { expert_parallel: 'true' } : {}),
      ...(e.kvCache.value ? { kv_cache_dtype: e.kvCache.value } : {}),
      ...(cachedPct > 0 ? { prompt_cached_share: String(cachedPct / 100) } : {}),
      // A benchmark run only when asked for: the server names what is missing or wrong.
      ...(e.runRequests.value ? { run_requests: e.runRequests.value } : {}),
      ...(e.outputCap.value ? { max_output_len: e.outputCap.value } : {}),
      max_nodes: '6000', // the step's tree, cut to what a browser draws; deeper levels on demand
      ...extra,
    };
  }

  // Resolves to the answer shown, or null when it failed or a newer run replaced it.
  async run() {
    const runId = ++this.runId;
    this.onStatus(null);
    this.elements.run.disabled = true;
    this.elements.result.innerHTML = '<span class="spinner-border spinner-border-sm" aria-hidden="true"></span> Predicting…';
    try {
      const request = this.request();
      const answer = await fetchServing(request);
      if (runId !== this.runId) return null;
      this.answer = answer;
      this.answerRequest = request;
      this.renderFigures(answer);
      this.elements.showTree.disabled = false;
      await this.runSweep();
      return runId === this.runId ? answer : null;
    } catch (error) {
      if (runId !== this.runId) return null;
      this.answer = null;
      this.elements.result.replaceChildren();
      this.elements.chart.replaceChildren();
      this.elements.showTree.disabled = true;
      this.onStatus(error);
      return null;
    } finally {
      if (runId === this.runId) this.elements.run.disabled = false;
    }
  }

  // A setup as the advisor and the leaderboard name it ({ model, machine, num_gpus,
  // pipeline_parallel, data_parallel, expert_parallel, batch_size, quantization ('' = as
  // stored), kv_cache_dtype ('' = auto), engine, prompt_len, output_len }): into the form,
  // then predicted. Resolves as run() does.
  openSetup(setup) {
    const e = this.elements;
    setSelect(e.model, setup.model);
    setSelect(e.machine, setup.machine);
    this.describeMachine();
    e.gpus.value = String(setup.num_gpus);
    e.stages.value = String(setup.pipeline_parallel || 1);
    e.dataParallel.value = String(setup.data_parallel || 1);
    e.expertParallel.checked = Boolean(setup.expert_parallel);
    e.batch.value = String(setup.batch_size);
    e.prompt.value = String(setup.prompt_len);
    e.output.value = String(setup.output_len);
    setSelect(e.engine, setup.engine || '');
    setSelect(e.quantization, setup.quantization || '');
    setSelect(e.kvCache, setup.kv_cache_dtype || '');
    e.cached.value = setup.prompt_cached_share > 0 ? String(100 * setup.prompt_cached_share) : '';
    this.describeMachine();
    // A benchmark run is vLLM 0.5.4's and no part of these setups.
    e.runRequests.value = '';
    e.outputCap.value = '';
    return this.run();
  }

  renderFigures(a) {
    const level = Math.round(100 * a.intervals.level);
    const rows = FIGURES.filter(([key]) => a[key] != null)
      .map(([key, label, format]) => figureRow(key, label, a[key], a.intervals[key], format)).join('')
      + runRow(a);
    // Cost and CO2 of a million output tokens, at the dashboard's stated defaults.
    const million = costOf(a.energy_per_output_token_j * MILLION, { requests: 1, pricePerKwh: DEFAULTS.pricePerKwh, gramsPerKwh: DEFAULTS.gramsPerKwh });
    this.elements.result.innerHTML = `
      <table class="table table-sm mb-1 serving-figures"><thead><tr><th></th><th>predicted</th><th>${level} % interval</th></tr></thead>
      <tbody>${rows}</tbody></table>
      <div class="small" id="serving-cost">Per million output tokens: ${formatKwh(million.kwh)} · ${formatMoney(million.cost, 'USD')} · ${formatCo2(million.grams)}
        <span class="text-body-secondary">(at ${DEFAULTS.pricePerKwh} USD/kWh, an assumption, and ${DEFAULTS.gramsPerKwh} g CO₂/kWh, the IEA world average of 2019)</span></div>
      <div class="small" id="serving-engine-used">Under ${escapeHtml(a.engine_name || a.engine)}, ${a.batch_size.toLocaleString('en-US')} requests running${layout(a)}.</div>
      ${memoryLine(a.memory)}
      ${cacheLine(a, this.answerRequest)}
      <div class="small">Prefill: ${(100 * a.prefill_share).toFixed(1)} % of each step's energy.</div>
      ${timeSplit(a.time_split_s)}
      <div class="tiny ${a.spec_only ? 'text-warning-emphasis' : 'text-body-secondary'}" id="serving-basis">${escapeHtml(a.basis)}</div>`;
  }

  async runSweep() {
    if (!this.answer) return;
    const over = this.elements.over.value;
    // Every point needs a whole number of GPUs per stage and per data-parallel replica
    // (the server refuses the others), and a request per stage.
    const stages = Number(this.elements.stages.value) || 1;
    const replicas = Math.max(1, Number(this.elements.dataParallel.value) || 1);
    const values = over === 'num_gpus' ? SWEEP_GPUS.filter((g) => g % (stages * replicas) === 0) : SWEEP_BATCHES.filter((b) => b >= stages);
    const runId = this.runId;
    try {
      const answer = await fetchServing(this.request({ sweep: over, values: values.join(','), max_nodes: '1' }));
      if (runId !== this.runId) return;
      this.drawSweep(answer, over);
    } catch (error) {
      if (runId === this.runId) this.onStatus(error);
    }
  }

  drawSweep(answer, over) {
    const container = this.elements.chart;
    container.replaceChildren();
    const points = answer.sweep.points;
    const key = over === 'num_gpus' ? 'num_gpus' : 'batch_size';
    // Measured points of this machine with these pipeline stages: at this GPU count for a
    // batch sweep, near this batch size (within 20 %) for a GPU sweep.
    const gpus = Number(answer.num_gpus);
    const batch = Number(answer.batch_size);
    const stages = Number(answer.pipeline_parallel);
    const measured = (answer.measured || []).filter((m) => m.pipeline_parallel === stages && (over === 'num_gpus'
      ? Math.abs(Math.log(m.batch_size / batch)) < Math.log(1.2) : m.num_gpus === gpus));
    const width = Math.max(480, container.clientWidth || 720);
    const height = 320;
    const margin = { top: 16, right: 24, bottom: 42, left: 76 };
    const xs = [...points.map((p) => p[key]), ...measured.map((m) => m[key])];
    const x = d3.scaleLog().base(2).domain(d3.extent(xs)).range([margin.left, width - margin.right]);
    // A point's interval, or the point itself where it has none.
    const band = (p) => p.intervals.energy_per_output_token_j || [p.energy_per_output_token_j, p.energy_per_output_token_j];
    const top = d3.max([...points.map((p) => band(p)[1]), ...measured.map((m) => m.energy_per_output_token_j)]);
    const bottom = d3.min([...points.map((p) => band(p)[0]), ...measured.map((m) => m.energy_per_output_token_j)]);
    const y = d3.scaleLog().domain([bottom * 0.8, top * 1.2]).range([height - margin.bottom, margin.top]);
    const svg = d3.select(container).append('svg').attr('class', 'serving-svg').attr('width', width).attr('height', height)
      .attr('role', 'img')
      .attr('aria-label', `Energy per output token of ${answer.model} on ${answer.machine_name} against ${over === 'num_gpus' ? 'GPUs' : 'batch size'}`);
    svg.append('g').attr('transform', `translate(0,${height - margin.bottom})`)
      .call(d3.axisBottom(x).tickValues(over === 'num_gpus' ? SWEEP_GPUS : SWEEP_BATCHES).tickFormat(d3.format('d')))
      .append('text').attr('x', (margin.left + width - margin.right) / 2).attr('y', 34).attr('fill', 'currentColor')
      .attr('text-anchor', 'middle').text(over === 'num_gpus' ? 'GPUs (tensor parallel)' : 'requests running at once (batch size)');
    // Log ticks labelled at 1, 2 and 5 of each decade only: the others crowd.
    const label = (v) => {
      const mantissa = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
      return [1, 2, 5].some((k) => Math.abs(mantissa - k) < 1e-6) ? formatEnergyTick(v) : '';
    };
    svg.append('g').attr('transform', `translate(${margin.left},0)`).call(d3.axisLeft(y).ticks(6).tickFormat(label));
    const banded = points.filter((p) => Array.isArray(p.intervals.energy_per_output_token_j));
    if (banded.length) {
      const area = d3.area().x((p) => x(p[key]))
        .y0((p) => y(p.intervals.energy_per_output_token_j[0])).y1((p) => y(p.intervals.energy_per_output_token_j[1]));
      svg.append('path').attr('class', 'serving-band').attr('d', area(banded)).attr('fill', '#4e79a7').attr('opacity', 0.18);
    }
    const line = d3.line().x((p) => x(p[key])).y((p) => y(p.energy_per_output_token_j));
    svg.append('path').attr('d', line(points)).attr('fill', 'none').attr('stroke', '#4e79a7').attr('stroke-width', 2);
    svg.append('g').attr('class', 'serving-predicted').selectAll('circle').data(points).join('circle')
      .attr('cx', (p) => x(p[key])).attr('cy', (p) => y(p.energy_per_output_token_j)).attr('r', 3).attr('fill', '#4e79a7')
      .append('title').text((p) => `${key === 'num_gpus' ? `${p.num_gpus} GPUs` : `batch ${p.batch_size}`}: predicted ${formatEnergy(p.energy_per_output_token_j)} per output token`);
    svg.append('g').attr('class', 'serving-measured').selectAll('rect').data(measured).join('rect')
      .attr('x', (m) => x(m[key]) - 4).attr('y', (m) => y(m.energy_per_output_token_j) - 4).attr('width', 8).attr('height', 8)
      .attr('fill', '#e15759')
      .append('title').text((m) => `measured (${m.engine || 'vllm-0.5.4'}, ${m.model}, ${m.num_gpus} GPUs, mean batch ${m.batch_size.toFixed(0)}): ${formatEnergy(m.energy_per_output_token_j)} per output token`);
    const legend = svg.append('g').attr('transform', `translate(${width - margin.right - 250},${margin.top})`).attr('font-size', 12);
    legend.append('line').attr('x1', 0).attr('x2', 18).attr('y1', 6).attr('y2', 6).attr('stroke', '#4e79a7').attr('stroke-width', 2);
    legend.append('text').attr('x', 24).attr('y', 10).attr('fill', 'currentColor').text(`predicted${banded.length ? `, ${Math.round(100 * answer.intervals.level)} % band` : ''}`);
    legend.append('rect').attr('x', 5).attr('y', 18).attr('width', 8).attr('height', 8).attr('fill', '#e15759');
    legend.append('text').attr('x', 24).attr('y', 27).attr('fill', 'currentColor')
      .text(measured.length ? `measured (${measured.length} ML.ENERGY points)` : 'no measured points here');
  }
}
