// The leaderboard (GET /api/leaderboard): every bundled decoder on every GPU that holds it,
// each at its least-energy setup for a task under an inter-token latency objective, with
// the measured figures beside where the server has them. Sortable, filterable by task,
// text and basis, downloadable as the server's CSV; a row opens its setup in the serving
// card. The answer also feeds the accuracy-energy chart (tradeoff-chart.js).
// The first answer takes seconds (every model on every machine), so it is asked for when
// the card is first opened, with a loading state, and kept for the page after that.

import { fetchLeaderboard, leaderboardCsvUrl } from './api.js';
import { escapeHtml, formatEnergy, formatSeconds } from './format.js';
import { VirtualTable } from './virtual-table.js';

// The order a column sorts in when first clicked: least energy, power and latency first
// (what the board ranks by), most throughput first, names A to Z.
const SORTS = {
  task: { descending: false, value: (r) => r.task },
  model: { descending: false, value: (r) => r.model },
  machine: { descending: false, value: (r) => r.machine },
  gpus: { descending: false, value: (r) => r.num_gpus },
  batch: { descending: true, value: (r) => r.batch_size },
  basis: { descending: false, value: (r) => r.basis },
  response: { descending: false, value: (r) => r.energy_per_response_j },
  token: { descending: false, value: (r) => r.energy_per_output_token_j },
  power: { descending: false, value: (r) => r.power_w },
  throughput: { descending: true, value: (r) => r.throughput_per_gpu },
  itl: { descending: false, value: (r) => r.itl_median_s },
  ttft: { descending: false, value: (r) => r.ttft_s },
  measured: { descending: false, value: (r) => (r.measured ? r.measured.energy_per_output_token_j : null) },
};

const rowKey = (r) => `${r.task}|${r.model}|${r.machine}`;
// A number the tests (and a reader's devtools) can read back, beside the formatted text.
const valued = (value, text) => (value == null ? '—' : `<span data-value="${value}">${text}</span>`);

function layout(r) {
  const dp = r.data_parallel > 1 ? ` × DP ${r.data_parallel}` : '';
  return `${r.num_gpus} <span class="text-body-secondary">(TP ${r.tensor_parallel}${dp}${r.expert_parallel ? ', EP' : ''})</span>`;
}

function basisHtml(r) {
  const badge = r.basis === 'calibrated' ? 'text-bg-primary' : 'text-bg-light border';
  return `<span class="badge ${badge}">${escapeHtml(r.basis)}</span>`;
}

// The measured figures of the same model, task and machine, marked as measured in green
// so they are never read as predictions (all of them and their source on hover).
function measuredHtml(r) {
  const m = r.measured;
  if (!m) return '—';
  const title = `measured: ${formatEnergy(m.energy_per_output_token_j)} per output token, ${formatEnergy(m.energy_per_response_j)} per response, `
    + `${Math.round(m.power_w)} W, ${Math.round(m.throughput_per_gpu).toLocaleString('en-US')} tokens/s per GPU`
    + `${m.engine ? ` under ${m.engine}` : ''}${m.num_gpus ? ` on ${m.num_gpus} GPUs` : ''}; source ${m.source || 'not given'}`;
  return `<span class="badge text-bg-success measured-badge" data-value="${m.energy_per_output_token_j}" title="${escapeHtml(title)}">`
    + `measured ${formatEnergy(m.energy_per_output_token_j)}</span>`;
}

const COLUMNS = [
  { key: 'task', title: 'Task', sortKey: 'task', width: '4.4rem', html: (r) => escapeHtml(r.task) },
  {
    key: 'model', title: 'Model', sortKey: 'model', width: 'minmax(9rem, 2fr)',
    html: (r) => `<span title="${escapeHtml(`${r.model} (${r.family}): ${r.setup}`)}">${escapeHtml(r.model)}</span>`,
  },
  { key: 'machine', title: 'Machine', sortKey: 'machine', width: 'minmax(6rem, 1fr)', html: (r) => escapeHtml(r.machine) },
  { key: 'gpus', title: 'GPUs', sortKey: 'gpus', width: '6.2rem', html: layout },
  { key: 'batch', title: 'Batch', sortKey: 'batch', width: '3.2rem', align: 'end', html: (r) => String(r.batch_size) },
  {
    key: 'weights', title: 'Weights', width: '4.6rem',
    html: (r) => escapeHtml(`${r.quantization || 'as stored'}${r.kv_cache_dtype ? `, KV ${r.kv_cache_dtype}` : ''}`),
  },
  { key: 'basis', title: 'Basis', sortKey: 'basis', width: '5.4rem', html: basisHtml },
  { key: 'response', title: 'Energy / response', sortKey: 'response', width: '5.6rem', align: 'end', html: (r) => valued(r.energy_per_response_j, formatEnergy(r.energy_per_response_j)) },
  { key: 'token', title: 'Energy / token', sortKey: 'token', width: '5.2rem', align: 'end', html: (r) => valued(r.energy_per_output_token_j, formatEnergy(r.energy_per_output_token_j)) },
  { key: 'power', title: 'Power', sortKey: 'power', width: '3.8rem', align: 'end', html: (r) => valued(r.power_w, `${Math.round(r.power_w)} W`) },
  {
    key: 'throughput', title: 'Tokens/s per GPU', sortKey: 'throughput', width: '5rem', align: 'end',
    html: (r) => valued(r.throughput_per_gpu, Math.round(r.throughput_per_gpu).toLocaleString('en-US')),
  },
  { key: 'itl', title: 'ITL', sortKey: 'itl', width: '4.4rem', align: 'end', html: (r) => valued(r.itl_median_s, formatSeconds(r.itl_median_s)) },
  { key: 'ttft', title: 'TTFT', sortKey: 'ttft', width: '4.4rem', align: 'end', html: (r) => valued(r.ttft_s, formatSeconds(r.ttft_s)) },
  { key: 'measured', title: 'Measured / token', sortKey: 'measured', width: '7.2rem', align: 'end', html: measuredHtml },
];

export class LeaderboardPanel {
  // elements: { section, tasks (checkbox container), itl, maxGpus, load, summary, taskFilter, search, basis,
  //   count, csv, table, skipped }
  constructor(elements, { onStatus, onOpenSetup, onAnswer = () => {} }) {
    this.elements = elements;
    this.onStatus = onStatus;
    this.onOpenSetup = onOpenSetup; // (setup): a row's setup, to open in the serving card
    this.onAnswer = onAnswer; // (answer): told of every leaderboard shown (the trade-off chart)
    this.answer = null;
    this.rows = [];
    this.visible = [];
    this.loadId = 0;
    this.sortKey = 'response';
    this.descending = false;
    this.table = new VirtualTable(elements.table, {
      columns: COLUMNS,
      rowHeight: 30,
      rowKey,
      label: 'Leaderboard: every model on every GPU at its least-energy setup',
      emptyText: 'No row matches the filters.',
      onActivate: (r) => this.open(r),
      onSort: (key) => this.sortBy(key),
    });
    this.table.setSort(this.sortKey, this.descending);
    // Loaded when first opened: a closed card costs the server nothing.
    elements.section.addEventListener('toggle', () => {
      if (elements.section.open && !this.answer && !this.loading) this.load();
    });
    elements.load.addEventListener('click', () => this.load());
    elements.search.addEventListener('input', () => this.refresh());
    elements.taskFilter.addEventListener('change', () => this.refresh());
    elements.basis.addEventListener('change', () => this.refresh());
  }

  request() {
    const e = this.elements;
    const tasks = [...e.tasks.querySelectorAll('input:checked')].map((box) => box.value);
    return {
      // None ticked: the server's default tasks.
      ...(tasks.length ? { tasks: tasks.join(',') } : {}),
      ...(e.itl.value.trim() ? { itl_slo_ms: e.itl.value.trim() } : {}),
      max_gpus: e.maxGpus.value,
    };
  }

  async load() {
    const loadId = ++this.loadId;
    const e = this.elements;
    const request = this.request();
    this.loading = true;
    this.onStatus(null);
    e.load.disabled = true;
    e.summary.innerHTML = `<div class="alert alert-info py-2 mb-1 d-flex align-items-center gap-2 status-loading" role="status" id="leaderboard-loading">
      <span class="spinner-border spinner-border-sm" aria-hidden="true"></span>
      <span>Ranking every decoder on every GPU that holds it (the first answer takes a few seconds; later ones come from the server's cache)…</span></div>`;
    try {
      const answer = await fetchLeaderboard(request);
      if (loadId !== this.loadId) return;
      this.answer = answer;
      this.show(answer, request);
      this.onAnswer(answer);
    } catch (error) {
      if (loadId !== this.loadId) return;
      e.summary.replaceChildren();
      this.onStatus(error);
    } finally {
      if (loadId === this.loadId) {
        this.loading = false;
        e.load.disabled = false;
      }
    }
  }

  show(answer, request) {
    const e = this.elements;
    const options = answer.options || {};
    const tasks = options.tasks || [];
    const lengths = tasks.map((t) => `<li><strong>${escapeHtml(t.id)}</strong>: prompt ${t.prompt_len}, output ${t.output_len} tokens`
      + ` <span class="text-body-secondary">(${escapeHtml(t.source || '')})</span></li>`).join('');
    e.summary.innerHTML = `<div class="small" id="leaderboard-summary">${answer.rows.length.toLocaleString('en-US')} rows: each model on each GPU at its least energy per output token`
      + ` with a median inter-token latency ≤ ${formatSeconds(options.itl_slo_s)} on up to ${options.max_gpus} GPUs. Click a row to open its setup in the serving card.</div>`
      + `<ul class="tiny mb-1 ps-3">${lengths}</ul>`;
    const before = e.taskFilter.value;
    e.taskFilter.innerHTML = '<option value="">all tasks</option>'
      + tasks.map((t) => `<option value="${escapeHtml(t.id)}">${escapeHtml(t.id)}</option>`).join('');
    if (tasks.some((t) => t.id === before)) e.taskFilter.value = before;
    e.csv.href = leaderboardCsvUrl(request);
    e.csv.classList.remove('disabled');
    e.csv.removeAttribute('aria-disabled');
    const skipped = answer.skipped || [];
    e.skipped.innerHTML = skipped.length
      ? `<details id="leaderboard-skipped"><summary class="tiny">${skipped.length} model and task pairs left out</summary>`
        + `<ul class="tiny mb-0 ps-3">${skipped.map((s) => `<li>${escapeHtml(s.model)} (${escapeHtml(s.task)}): ${escapeHtml(s.reason)}</li>`).join('')}</ul></details>`
      : '';
    this.rows = answer.rows;
    this.refresh();
  }

  // Clicking the active column again flips its direction.
  sortBy(key) {
    if (!SORTS[key]) return;
    if (this.sortKey === key) this.descending = !this.descending;
    else {
      this.sortKey = key;
      this.descending = SORTS[key].descending;
    }
    this.table.setSort(this.sortKey, this.descending);
    this.refresh();
  }

  refresh() {
    const e = this.elements;
    const text = e.search.value.trim().toLowerCase();
    const task = e.taskFilter.value;
    const basis = e.basis.value;
    const matches = this.rows.filter((r) => (!task || r.task === task)
      && (!basis || (basis === 'measured' ? Boolean(r.measured) : r.basis === basis))
      && (!text || r.model.toLowerCase().includes(text) || r.machine.toLowerCase().includes(text)));
    const { value } = SORTS[this.sortKey];
    const direction = this.descending ? -1 : 1;
    // Rows without the value (no measurement, no TTFT) stay at the end either way; ties
    // keep a fixed order so a re-sort never shuffles them.
    matches.sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      if (va == null || vb == null) return (va == null) - (vb == null) || rowKey(a).localeCompare(rowKey(b));
      if (va < vb) return -direction;
      if (va > vb) return direction;
      return rowKey(a).localeCompare(rowKey(b));
    });
    this.visible = matches;
    this.table.setRows(matches);
    e.count.textContent = `${matches.length.toLocaleString('en-US')} of ${this.rows.length.toLocaleString('en-US')} rows`;
  }

  open(row) {
    const task = ((this.answer.options || {}).tasks || []).find((t) => t.id === row.task);
    if (!task) return;
    this.onOpenSetup({ ...row, prompt_len: task.prompt_len, output_len: task.output_len });
  }
}
