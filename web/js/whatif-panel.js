// What if… (GET /api/whatif): a serving setup (side A: model, machine, GPUs, running
// requests, prompt and output lengths, and whatever else the serving card's setup carries
// when taken from it) beside the same with changes (side B: machine, GPUs, data and expert
// parallelism, batch, engine, weight and KV cache formats, config.json edits as KEY=VALUE
// lines, or b.KEY=VALUE for a change the form lacks). The answer's figures side by side with their change in %, the node kinds whose
// energy changes as a diverging bar chart (whatif-chart.js) and the tree of differences,
// largest first (diff-tree.js). A refused request shows the server's message.

import { fetchWhatIf } from './api.js';
import { DiffTree } from './diff-tree.js';
import { escapeHtml, formatEnergy, formatSeconds, formatSignedPercent } from './format.js';
import { fillGrouped, fillMachines } from './selection-form.js';
import { drawDeltaBars } from './whatif-chart.js';

const MAX_DEPTH = '4'; // the tree of differences down to a layer's projections

const count = (n) => Math.round(n).toLocaleString('en-US');

// key, label, format, which way is better (-1: less, +1: more, 0: neither)
const FIGURES = [
  ['energy_per_output_token_j', 'Energy per output token', formatEnergy, -1],
  ['energy_per_request_j', 'Energy per request', formatEnergy, -1],
  ['power_w', 'Power (all GPUs)', (w) => `${w.toFixed(0)} W`, 0],
  ['itl_median_s', 'Inter-token latency, median', formatSeconds, -1],
  ['tpot_s', 'Time per output token', formatSeconds, -1],
  ['ttft_s', 'Time to first token (no queueing)', formatSeconds, -1],
  ['throughput_tokens_per_s', 'Throughput', (t) => `${count(t)} tokens/s`, 1],
  ['batch_size', 'Requests running (served)', count, 0],
  ['num_gpus', 'GPUs', count, 0],
];

// The serving card's fields that side A carries beyond its own form, and their names.
const EXTRA = [
  ['engine', 'engine'], ['quantization', 'weights'], ['kv_cache_dtype', 'KV cache'], ['data_parallel', 'data parallel'],
  ['expert_parallel', 'expert parallel'], ['pipeline_parallel', 'pipeline stages'], ['prompt_cached_share', 'prompt cached share'],
];

const CONFIG_LINE = /^([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/;

function setSelect(select, value) {
  if (![...select.options].some((o) => o.value === value)) select.add(new Option(value, value));
  select.value = value;
}

// One side's setup in a line: GPUs and layout, engine, requests, memory.
function setupLine(side) {
  const dp = side.data_parallel > 1 ? ` × DP ${side.data_parallel}` : '';
  const pp = side.pipeline_parallel > 1 ? `, PP ${side.pipeline_parallel}` : '';
  const ep = side.expert_parallel ? ', experts in parallel' : '';
  return `${side.num_gpus} × ${side.machine_name} (TP ${side.tensor_parallel}${dp}${pp}${ep}) · ${side.engine_name || side.engine}`
    + ` · ${count(side.batch_size)} requests running`;
}

function changeCell(a, b, better) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0) return '<td class="text-end">—</td>';
  const pct = ((b - a) / a) * 100;
  const direction = Math.sign(pct) * better;
  const cls = Math.abs(pct) < 0.05 || !better ? '' : direction > 0 ? 'delta-down' : 'delta-up';
  return `<td class="text-end whatif-change ${cls}" data-pct="${pct}">${formatSignedPercent(pct)}</td>`;
}

export class WhatIfPanel {
  // elements: { model, machine, gpus, batch, prompt, output, fromServing, extra, bMachine, bGpus,
  //   bDataParallel, bExpertParallel, bBatch, bEngine, bQuantization, bKvCache, bConfig, run,
  //   figures, chart, chartNote, tree }
  // machines: /api/machines' `all` entries that answer "whatif"; servingSetup(): the serving
  // card's request (its /api/serving parameters).
  constructor(elements, { models, machines, engines = [], servingSetup = null, onStatus }) {
    this.elements = elements;
    this.onStatus = onStatus;
    this.servingSetup = servingSetup;
    this.engines = engines;
    this.extra = {};
    this.runId = 0;
    this.diffTree = new DiffTree(elements.tree, { openDepth: 3 });
    const e = elements;
    fillGrouped(e.model, models.filter((m) => m.decoder));
    if ([...e.model.options].some((o) => o.value === 'meta-llama/Llama-3.1-8B')) e.model.value = 'meta-llama/Llama-3.1-8B';
    fillMachines(e.machine, machines);
    const home = machines.find((m) => m.default_for === 'decoders');
    if (home) e.machine.value = home.id;
    fillMachines(e.bMachine, machines);
    e.bMachine.prepend(new Option('as A', ''));
    e.bMachine.value = '';
    e.bEngine.replaceChildren(new Option('as A', ''), ...engines.map((engine) => new Option(engine.name, engine.id)));
    e.run.addEventListener('click', () => this.run());
    if (servingSetup) e.fromServing.addEventListener('click', () => this.takeServingSetup());
    else e.fromServing.hidden = true;
  }

  // Side A from the serving card: its own fields into the form, the rest carried along.
  takeServingSetup() {
    const r = this.servingSetup();
    const e = this.elements;
    setSelect(e.model, r.model);
    setSelect(e.machine, r.machine);
    e.gpus.value = r.num_gpus;
    e.batch.value = r.batch_size;
    e.prompt.value = r.prompt_len;
    e.output.value = r.output_len;
    this.extra = {};
    for (const [key] of EXTRA) {
      if (r[key] != null && r[key] !== '' && !(key === 'pipeline_parallel' && String(r[key]) === '1')) this.extra[key] = String(r[key]);
    }
    this.describeExtra();
  }

  describeExtra() {
    const box = this.elements.extra;
    const parts = EXTRA.filter(([key]) => this.extra[key] != null).map(([key, label]) => {
      const value = key === 'engine' ? (this.engines.find((engine) => engine.id === this.extra[key]) || { name: this.extra[key] }).name : this.extra[key];
      return `${label} ${value}`;
    });
    if (!parts.length) {
      box.replaceChildren();
      return;
    }
    box.innerHTML = `From the serving card, A also has: ${escapeHtml(parts.join(' · '))}. `
      + '<button type="button" class="btn btn-link p-0 tiny align-baseline">drop these</button>';
    box.querySelector('button').addEventListener('click', () => {
      this.extra = {};
      this.describeExtra();
    });
  }

  // The changes B makes, as the server names them (config.KEY for config.json edits);
  // throws an Error naming a line that is not KEY=VALUE, or when nothing changes.
  changes() {
    const e = this.elements;
    const changes = {};
    const set = (key, value) => {
      if (value != null && String(value).trim() !== '') changes[key] = String(value).trim();
    };
    set('machine', e.bMachine.value);
    set('num_gpus', e.bGpus.value);
    set('data_parallel', e.bDataParallel.value);
    set('expert_parallel', e.bExpertParallel.value);
    set('batch_size', e.bBatch.value);
    set('engine', e.bEngine.value);
    // "As the checkpoint" is an empty quantization: the format the checkpoint stores.
    if (e.bQuantization.value) changes.quantization = e.bQuantization.value === 'as-stored' ? '' : e.bQuantization.value;
    set('kv_cache_dtype', e.bKvCache.value);
    e.bConfig.value.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const match = line.match(CONFIG_LINE);
      if (!match) throw new Error(`line ${i + 1} of the config.json edits is not KEY=VALUE: "${line}"`);
      // b.KEY=VALUE: a change the form has no field for (b.prompt_len=2000, b.dtype=float16),
      // passed as it is; the server names what it does not take.
      if (match[1].startsWith('b.')) changes[match[1].slice(2)] = match[2].trim();
      else changes[`config.${match[1]}`] = match[2].trim();
    });
    if (!Object.keys(changes).length) {
      throw new Error('Choose at least one change for B (a field of B, or a config.json edit).');
    }
    return changes;
  }

  // GET /api/whatif's parameters: side A as /api/serving takes it, then b.KEY per change.
  request() {
    const e = this.elements;
    const params = {
      model: e.model.value,
      machine: e.machine.value,
      num_gpus: e.gpus.value,
      batch_size: e.batch.value,
      prompt_len: e.prompt.value,
      output_len: e.output.value,
      ...this.extra,
      max_depth: MAX_DEPTH,
    };
    for (const [key, value] of Object.entries(this.changes())) params[`b.${key}`] = value;
    return params;
  }

  clear() {
    const e = this.elements;
    e.figures.replaceChildren();
    e.chart.replaceChildren();
    e.chartNote.textContent = '';
    e.tree.replaceChildren();
  }

  async run() {
    const runId = ++this.runId;
    const e = this.elements;
    this.onStatus(null);
    let request;
    try {
      request = this.request();
    } catch (error) {
      this.clear();
      this.onStatus(error);
      return null;
    }
    e.run.disabled = true;
    this.clear();
    e.figures.innerHTML = '<span class="spinner-border spinner-border-sm" aria-hidden="true"></span> Predicting both sides…';
    try {
      const answer = await fetchWhatIf(request);
      if (runId !== this.runId) return null;
      this.render(answer);
      return answer;
    } catch (error) {
      if (runId !== this.runId) return null;
      this.clear();
      this.onStatus(error);
      return null;
    } finally {
      if (runId === this.runId) e.run.disabled = false;
    }
  }

  render(answer) {
    const { a, b } = answer;
    const rows = FIGURES.filter(([key]) => a[key] != null || b[key] != null).map(([key, label, format, better]) => {
      const show = (v) => (v == null ? '—' : format(v));
      return `<tr data-figure="${key}"><th scope="row" class="fw-normal">${escapeHtml(label)}</th>`
        + `<td class="text-end whatif-a">${show(a[key])}</td><td class="text-end fw-semibold whatif-b">${show(b[key])}</td>${changeCell(a[key], b[key], better)}</tr>`;
    }).join('');
    const changes = Object.entries(answer.changes || {})
      .map(([key, value]) => `<code>${escapeHtml(key)}</code> → ${value === '' ? 'as the checkpoint' : `<code>${escapeHtml(value)}</code>`}`).join(', ');
    const memory = [['A', a], ['B', b]].filter(([, side]) => side.memory && side.memory.note)
      .map(([name, side]) => `<div class="small text-warning-emphasis whatif-memory">${name}: ${escapeHtml(side.memory.note)}</div>`).join('');
    // Config keys the config lacked: set, but the family may not read them.
    const notes = (answer.notes || []).map((n) => `<div class="small text-warning-emphasis whatif-note">${escapeHtml(n)}</div>`).join('');
    const basis = [['A', a], ['B', b]]
      .map(([name, side]) => `<div class="tiny ${side.spec_only ? 'text-warning-emphasis' : 'text-body-secondary'}">${name}: ${escapeHtml(side.basis)}</div>`).join('');
    this.elements.figures.innerHTML = `
      <div class="small mb-1" id="whatif-changes"><span class="text-body-secondary">B changes:</span> ${changes}</div>
      <div class="tiny mb-1" id="whatif-setups"><div>A: ${escapeHtml(setupLine(a))}</div><div>B: ${escapeHtml(setupLine(b))}</div></div>
      <table class="table table-sm mb-1 serving-figures" id="whatif-table"><thead><tr><th></th><th class="text-end">A</th><th class="text-end">B</th><th class="text-end">change</th></tr></thead>
      <tbody>${rows}</tbody></table>
      ${notes}${memory}${basis}`;

    const drawn = drawDeltaBars(this.elements.chart, answer.by_kind);
    const more = drawn.changed - drawn.drawn;
    this.elements.chartNote.textContent = drawn.changed
      ? `B − A per output token by node kind, summed over the layers (layers.* is every layer), largest change first${more ? `; ${more} smaller changes not drawn` : ''}`
        + `${drawn.unchanged ? `; ${drawn.unchanged} kinds unchanged` : ''}. Green: B spends less; red: more.`
      : 'No node kind changes its energy: the difference, if any, is in the engine\'s time or the requests served.';

    const head = document.createElement('div');
    head.className = 'small mb-1';
    head.innerHTML = `<strong>Node by node</strong> <span class="text-body-secondary">(${escapeHtml(answer.units || '')}; largest change first; a node absent on one side says so)</span>`;
    this.diffTree.setTree(answer.tree);
    this.elements.tree.prepend(head);
  }
}
