// Sweep: total energy of one model against sequence length, one line per batch size.
// Each point is one /api/energy request, and tracing a large model is slow, so the
// sweep runs only on demand, asks at most MAX_REQUESTS, and at most two at a time.

import { fetchEnergy } from './api.js';
import { formatEnergy, formatEnergyTick } from './format.js';

const d3 = window.d3;
export const MAX_REQUESTS = 24;
const PARALLEL = 2;

// 32, 64, 96, ... up to the model's maximum, thinned to at most `maxPoints` lengths.
export function sweepLengths(maxSeqLen, step, maxPoints) {
  const lengths = [];
  for (let s = Math.min(32, maxSeqLen); s <= maxSeqLen; s += step) lengths.push(s);
  if (lengths[lengths.length - 1] !== maxSeqLen) lengths.push(maxSeqLen);
  if (lengths.length <= maxPoints) return lengths;
  const stride = (lengths.length - 1) / (maxPoints - 1);
  return [...new Set(d3.range(maxPoints).map((i) => lengths[Math.round(i * stride)]))];
}

export class SweepPanel {
  constructor(elements, { onStatus, onRun = () => {} }) {
    this.elements = elements; // { run, cancel, step, batches (checkbox container), chart, progress, plan }
    this.onStatus = onStatus;
    this.onRun = onRun; // ({ batches, step }): told of every sweep started
    this.selection = null;
    this.modelInfo = null;
    this.runId = 0;
    elements.run.addEventListener('click', () => this.run());
    elements.cancel.addEventListener('click', () => this.cancel());
    elements.step.addEventListener('change', () => this.describePlan());
    elements.batches.addEventListener('change', () => this.describePlan());
  }

  setSelection(selection, modelInfo) {
    const changed = !this.selection || this.selection.model !== selection.model || this.selection.machine !== selection.machine;
    this.selection = selection;
    this.modelInfo = modelInfo;
    if (changed) {
      this.cancel();
      this.elements.chart.replaceChildren();
      this.elements.progress.textContent = '';
    }
    this.describePlan();
  }

  plan() {
    if (!this.modelInfo) return null;
    const batches = [...this.elements.batches.querySelectorAll('input:checked')].map((i) => Number(i.value));
    const step = Math.max(8, Number(this.elements.step.value) || 64);
    const maxPoints = Math.max(2, Math.floor(MAX_REQUESTS / Math.max(1, batches.length)));
    const lengths = sweepLengths(this.modelInfo.max_seq_len, step, maxPoints);
    return { batches, lengths, requests: batches.length * lengths.length };
  }

  describePlan() {
    const plan = this.plan();
    if (!plan) return;
    this.elements.plan.textContent = plan.batches.length
      ? `${plan.requests} requests: sequence lengths ${plan.lengths.join(', ')} for batch sizes ${plan.batches.join(', ')} (capped at ${MAX_REQUESTS}).`
      : 'Tick at least one batch size.';
    this.elements.run.disabled = plan.batches.length === 0;
  }

  // The batch sizes to tick and the step, as a shared link gives them.
  setSettings({ batches, step }) {
    for (const box of this.elements.batches.querySelectorAll('input')) box.checked = batches.includes(Number(box.value));
    if ([...this.elements.step.options].some((o) => Number(o.value) === step)) this.elements.step.value = String(step);
    this.describePlan();
  }

  cancel() {
    this.runId += 1;
    this.elements.cancel.hidden = true;
    this.elements.run.disabled = false;
  }

  async run() {
    const plan = this.plan();
    if (!plan || !plan.batches.length) return;
    this.onRun({ batches: plan.batches, step: Number(this.elements.step.value) });
    const runId = ++this.runId;
    const points = [];
    const jobs = plan.batches.flatMap((batch) => plan.lengths.map((seq) => ({ batch, seq })));
    let done = 0;
    const failures = [];
    this.elements.run.disabled = true;
    this.elements.cancel.hidden = false;
    this.onStatus(null);
    const report = () => {
      this.elements.progress.innerHTML = done < jobs.length
        ? `<span class="spinner-border spinner-border-sm" aria-hidden="true"></span> Loading ${done} of ${jobs.length} points…`
        : `${points.length} points loaded${failures.length ? `, ${failures.length} failed` : ''}.`;
    };
    report();
    const queue = [...jobs];
    const worker = async () => {
      while (queue.length && runId === this.runId) {
        const job = queue.shift();
        try {
          const answer = await fetchEnergy({ ...this.selection, batch_size: job.batch, seq_len: job.seq });
          if (runId !== this.runId) return;
          points.push({ ...job, energy: answer.total_energy_j ?? answer.tree.root.energy_j });
        } catch (error) {
          failures.push(error);
        }
        done += 1;
        if (runId !== this.runId) return;
        report();
        this.draw(points, plan);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    if (runId !== this.runId) return;
    this.elements.cancel.hidden = true;
    this.elements.run.disabled = false;
    if (failures.length) this.onStatus(failures[0]);
  }

  draw(points, plan) {
    const container = this.elements.chart;
    container.replaceChildren();
    if (!points.length) return;
    const width = Math.max(480, container.clientWidth || 720);
    const height = 340;
    const margin = { top: 16, right: 110, bottom: 42, left: 76 };
    const x = d3.scaleLinear().domain([0, d3.max(plan.lengths)]).nice().range([margin.left, width - margin.right]);
    const y = d3.scaleLinear().domain([0, d3.max(points, (p) => p.energy)]).nice().range([height - margin.bottom, margin.top]);
    const color = d3.scaleOrdinal(plan.batches, d3.schemeTableau10);
    const svg = d3.select(container).append('svg').attr('class', 'sweep-svg').attr('width', width).attr('height', height)
      .attr('role', 'img')
      .attr('aria-label', `Total energy of ${this.selection.model} against sequence length`);
    svg.append('g').attr('transform', `translate(0,${height - margin.bottom})`).call(d3.axisBottom(x).ticks(8))
      .append('text').attr('x', (margin.left + width - margin.right) / 2).attr('y', 34)
      .attr('fill', 'currentColor').attr('text-anchor', 'middle').text('sequence length (tokens)');
    svg.append('g').attr('transform', `translate(${margin.left},0)`)
      .call(d3.axisLeft(y).ticks(6).tickFormat(formatEnergyTick));
    const line = d3.line().x((p) => x(p.seq)).y((p) => y(p.energy));
    for (const batch of plan.batches) {
      const series = points.filter((p) => p.batch === batch).sort((a, b) => a.seq - b.seq);
      if (!series.length) continue;
      const group = svg.append('g').attr('class', 'sweep-series').attr('data-batch', batch);
      group.append('path').attr('d', line(series)).attr('fill', 'none').attr('stroke', color(batch)).attr('stroke-width', 2);
      group.selectAll('circle').data(series).join('circle')
        .attr('cx', (p) => x(p.seq)).attr('cy', (p) => y(p.energy)).attr('r', 3.5).attr('fill', color(batch))
        .append('title').text((p) => `batch ${p.batch}, seq ${p.seq}: ${formatEnergy(p.energy)}`);
      const lastPoint = series[series.length - 1];
      group.append('text').attr('x', x(lastPoint.seq) + 8).attr('y', y(lastPoint.energy)).attr('dy', '0.35em')
        .attr('fill', color(batch)).attr('font-size', 12).text(`batch ${batch}`);
    }
  }
}
