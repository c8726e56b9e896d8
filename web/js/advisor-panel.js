// The advisor: "which setup serves this model for the least energy?" (GET /api/advise). A
// decoder, a task (its prompt and output lengths), an inter-token latency objective, an
// optional time-to-first-token objective, the most GPUs and optionally the GPUs to search;
// the answer is the pick with its figures and their interval, what a million tokens cost,
// where its time and energy go, what it rests on, the runner-up and why it lost, and the
// frontier of setups drawn beside it. When nothing meets the objectives the closest miss is
// named with how far it misses; when nothing fits, what it would take.

import { fetchAdvice } from './api.js';
import { drawFrontier } from './frontier-chart.js';
import {
  escapeHtml, formatCo2, formatEnergy, formatKwh, formatMoney, formatPercent, formatSeconds,
} from './format.js';
import { fillGrouped } from './selection-form.js';

const TASKS = [['chat', 'chat'], ['reasoning', 'reasoning'], ['code', 'code']];

// The pick's figures: [key on the candidate, label, format, its interval from the answer's
// explanation (null: the server gives none)].
const FIGURES = [
  ['energy_per_output_token_j', 'Energy per output token', formatEnergy, (iv) => iv.energy_per_output_token_j],
  ['energy_per_request_j', 'Energy per request', formatEnergy, (iv) => iv.energy_per_request_j],
  ['itl_median_s', 'Inter-token latency, median', formatSeconds, (iv) => iv.itl_median_s],
  ['ttft_s', 'Time to first token (no queueing)', formatSeconds, (iv) => iv.ttft_s],
  // Per GPU: the total's interval over the GPUs (throughput_per_gpu is the total / GPUs).
  ['throughput_per_gpu', 'Throughput per GPU', (t) => `${Math.round(t).toLocaleString('en-US')} tokens/s`,
    (iv, c) => (Array.isArray(iv.throughput_tokens_per_s) ? iv.throughput_tokens_per_s.map((v) => v / c.num_gpus) : null)],
  ['power_w', 'Power (all GPUs)', (w) => `${w.toFixed(0)} W`, (iv) => iv.power_w],
];

function figureRows(candidate, intervals) {
  return FIGURES.filter(([key]) => candidate[key] != null).map(([key, label, format, interval]) => {
    const range = interval(intervals, candidate);
    const text = Array.isArray(range) ? `${format(range[0])} – ${format(range[1])}` : 'no interval';
    return `<tr data-figure="${key}"><th scope="row" class="fw-normal">${escapeHtml(label)}</th>`
      + `<td class="fw-semibold">${format(candidate[key])}</td><td class="text-body-secondary">${text}</td></tr>`;
  }).join('');
}

// The five nodes of one decode step that spend the most, with how many copies of each.
function topNodes(nodes) {
  if (!nodes || !nodes.length) return '';
  const rows = nodes.map((n) => `<tr><td class="text-break"><code>${escapeHtml(n.path)}</code></td><td>${escapeHtml(n.class)}</td>`
    + `<td class="text-end">${formatPercent(n.share)}</td><td class="text-end">${n.copies}</td></tr>`).join('');
  return `<table class="table table-sm tiny mb-1" id="advisor-top-nodes"><caption class="caption-top py-0 small">The costliest nodes of one decode step</caption>
    <thead><tr><th scope="col">Node</th><th scope="col">Class</th><th scope="col" class="text-end">Share of the step's energy</th><th scope="col" class="text-end">Copies</th></tr></thead>
    <tbody>${rows}</tbody></table>`;
}

function objectives(request) {
  const ttft = request.ttft_slo_s != null ? `, time to first token ≤ ${formatSeconds(request.ttft_slo_s)}` : '';
  return `median inter-token latency ≤ ${formatSeconds(request.itl_slo_s)}${ttft}`;
}

export class AdvisorPanel {
  // elements: { model, task, itl, ttft, maxGpus, machines, run, result, chart, chartNote }
  constructor(elements, { models, catalogue, onStatus, onOpenSetup }) {
    this.elements = elements;
    this.onStatus = onStatus;
    this.onOpenSetup = onOpenSetup; // (setup): open a frontier point in the serving card
    this.runId = 0;
    fillGrouped(elements.model, models.filter((m) => m.decoder));
    if ([...elements.model.options].some((o) => o.value === 'meta-llama/Llama-3.1-8B')) {
      elements.model.value = 'meta-llama/Llama-3.1-8B';
    }
    elements.task.replaceChildren(...TASKS.map(([value, text]) => new Option(text, value)));
    // Serving GPUs only: the advisor does not search CPUs. None chosen means all of them.
    elements.machines.replaceChildren(...catalogue.filter((m) => m.kind === 'gpu')
      .map((m) => new Option(`${m.name}${m.calibrated ? ' (calibrated)' : ''}`, m.id)));
    elements.run.addEventListener('click', () => this.run());
  }

  request() {
    const e = this.elements;
    const machines = [...e.machines.selectedOptions].map((o) => o.value);
    return {
      model: e.model.value,
      task: e.task.value,
      max_gpus: e.maxGpus.value,
      // Empty fields are left out: the server's defaults apply, or its message says what is wrong.
      ...(e.itl.value.trim() ? { itl_slo_ms: e.itl.value.trim() } : {}),
      ...(e.ttft.value.trim() ? { ttft_slo_s: e.ttft.value.trim() } : {}),
      ...(machines.length ? { machines: machines.join(',') } : {}),
    };
  }

  async run() {
    const runId = ++this.runId;
    const { elements } = this;
    this.onStatus(null);
    elements.run.disabled = true;
    elements.chart.replaceChildren();
    elements.chartNote.textContent = '';
    elements.result.innerHTML = '<span class="spinner-border spinner-border-sm" aria-hidden="true"></span> Searching the setups…';
    try {
      const advice = await fetchAdvice(this.request());
      if (runId !== this.runId) return;
      this.advice = advice;
      this.render(advice);
      const drawn = drawFrontier(elements.chart, advice, { onOpen: (p) => this.open(p) });
      elements.chartNote.textContent = drawn
        ? `${drawn} setups no other beats on both latency and energy; left of the line they meet the ITL objective. Click a point to open it in the serving card, with its step tree below.`
        : '';
    } catch (error) {
      if (runId !== this.runId) return;
      this.advice = null;
      elements.result.replaceChildren();
      this.onStatus(error);
    } finally {
      if (runId === this.runId) elements.run.disabled = false;
    }
  }

  // A frontier point as the serving card takes it: the candidate's setup, the model and the
  // task's lengths from the request the answer echoes.
  open(candidate) {
    const { advice } = this;
    if (!advice) return;
    this.onOpenSetup({
      ...candidate, model: advice.model, prompt_len: advice.request.prompt_len, output_len: advice.request.output_len,
    });
  }

  render(a) {
    const request = a.request;
    const counts = `<div class="small" id="advisor-counts">Searched <strong>${a.searched.toLocaleString('en-US')}</strong> setups of ${escapeHtml(a.model)}`
      + ` (prompt ${request.prompt_len}, output ${request.output_len} tokens; up to ${request.max_gpus} GPUs):`
      + ` <strong>${a.fitting.toLocaleString('en-US')}</strong> fit in memory, <strong>${a.meeting.toLocaleString('en-US')}</strong> meet ${escapeHtml(objectives(request))}.</div>`;
    const excluded = (a.excluded || []).length
      ? `<ul class="tiny text-body-secondary mb-1 ps-3" id="advisor-excluded">${a.excluded.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`
      : '';
    this.elements.result.innerHTML = counts + excluded + (a.best ? this.pickHtml(a) : this.noPickHtml(a));
  }

  pickHtml(a) {
    const best = a.best;
    const explanation = a.explanation || {};
    const answer = explanation.answer || {};
    const intervals = answer.intervals || {};
    const level = intervals.level != null ? `${Math.round(100 * intervals.level)} % interval` : 'interval';
    const million = best.per_million_tokens || {};
    const prices = a.prices || {};
    const runnerUp = a.runner_up
      ? `<div class="small mt-1" id="advisor-runner-up"><span class="text-body-secondary">Runner-up:</span> ${escapeHtml(a.runner_up.setup)}`
        + ` (${formatEnergy(a.runner_up.energy_per_output_token_j)} per output token)${a.why ? `. <span class="text-body-secondary">Why the pick:</span> ${escapeHtml(a.why)}` : ''}</div>`
      : '<div class="small mt-1 text-body-secondary" id="advisor-runner-up">No runner-up: no other setup meets the objectives.</div>';
    return `<div class="mb-1" id="advisor-pick"><span class="small text-body-secondary">Least energy:</span>
        <strong class="advisor-setup">${escapeHtml(best.setup)}</strong></div>
      <table class="table table-sm mb-1 serving-figures" id="advisor-figures"><thead><tr><th></th><th>predicted</th><th>${level}</th></tr></thead>
        <tbody>${figureRows(best, intervals)}</tbody></table>
      <div class="small" id="advisor-cost">Per million output tokens: ${formatKwh(million.kwh)} · ${formatMoney(million.cost_usd, 'USD')} · ${formatCo2(million.co2_g)}
        <span class="text-body-secondary">(at ${prices.usd_per_kwh} USD/kWh and ${prices.grams_co2_per_kwh} g CO₂/kWh: ${escapeHtml(prices.source || '')})</span></div>
      ${explanation.time_split ? `<div class="small" id="advisor-time-split">Where the time goes: ${escapeHtml(explanation.time_split)}.</div>` : ''}
      ${topNodes(explanation.top_nodes)}
      ${answer.basis ? `<div class="tiny ${answer.spec_only ? 'text-warning-emphasis' : 'text-body-secondary'}" id="advisor-basis">Basis: ${escapeHtml(answer.basis)}</div>` : ''}
      ${runnerUp}`;
  }

  // Nothing meets the objectives (the closest miss and by how much), or nothing fits at all.
  noPickHtml(a) {
    const miss = a.closest_miss;
    if (miss) {
      const by = `${((miss.slo_ratio - 1) * 100).toLocaleString('en-US', { maximumFractionDigits: 0 })} %`;
      const ttft = miss.ttft_s != null ? `, TTFT ${formatSeconds(miss.ttft_s)}` : '';
      return `<div class="alert alert-warning py-2 mb-1 small" id="advisor-miss">Nothing meets the objectives (${escapeHtml(objectives(a.request))});
        closest: <strong>${escapeHtml(miss.setup)}</strong> misses by ${by}
        (median ITL ${formatSeconds(miss.itl_median_s)}${ttft}, ${formatEnergy(miss.energy_per_output_token_j)} per output token).</div>`;
    }
    const needs = a.needs ? escapeHtml(a.needs) : 'no setup searched holds the model';
    return `<div class="alert alert-warning py-2 mb-1 small" id="advisor-needs">Nothing fits on up to ${a.request.max_gpus} GPUs: ${needs}.</div>`;
  }
}
