// Accuracy against energy, from the leaderboard (GET /api/leaderboard): each model at its
// least energy per response for a task (across the machines, or on one), against its
// published score on a benchmark. Models without an author-published score are left out,
// and counted, rather than drawn at zero. The Pareto front joins the models that no other
// beats on both: none spends less energy for the same score or better.

import { escapeHtml, formatEnergy, formatEnergyTick } from './format.js';

const d3 = window.d3;

// One point per model with a score: its least-energy row for the task (on `machine`, when
// given). `withoutScore` counts the models that had a row but no score.
export function tradeoffPoints(answer, { task, benchmark, machine }) {
  const cheapest = new Map();
  for (const row of answer.rows) {
    if (row.task !== task || (machine && row.machine !== machine)) continue;
    const known = cheapest.get(row.model);
    if (!known || row.energy_per_response_j < known.energy_per_response_j) cheapest.set(row.model, row);
  }
  const points = [];
  let withoutScore = 0;
  for (const [model, row] of cheapest) {
    const entry = ((answer.scores || {})[model] || {})[benchmark];
    if (!entry || entry.score == null) withoutScore += 1;
    else points.push({ model, row, score: entry.score, variant: entry.variant, source: entry.source });
  }
  return { points, withoutScore };
}

// The points no other beats: walking up in energy, each one kept scores above all cheaper ones.
export function paretoFront(points) {
  const sorted = [...points].sort((a, b) => a.row.energy_per_response_j - b.row.energy_per_response_j || b.score - a.score);
  const front = [];
  let best = -Infinity;
  for (const p of sorted) {
    if (p.score > best) {
      front.push(p);
      best = p.score;
    }
  }
  return front;
}

function describe(p, benchmark, onFront) {
  const r = p.row;
  return [
    p.model,
    `${benchmark}: ${p.score}${p.variant ? ` (${p.variant})` : ''}${onFront ? ', on the Pareto front' : ''}`,
    `source: ${p.source || 'not given'}`,
    `${formatEnergy(r.energy_per_response_j)} per response on ${r.machine}: ${r.setup} (${r.basis})`,
  ].join('\n');
}

const shortName = (model) => model.split('/').pop();

export class TradeoffChart {
  // elements: { task, benchmark, machine, chart, note }
  constructor(elements) {
    this.elements = elements;
    this.answer = null;
    for (const select of [elements.task, elements.benchmark, elements.machine]) select.addEventListener('change', () => this.draw());
  }

  // A new leaderboard: the choices it allows, the previous ones kept where they still exist.
  setAnswer(answer) {
    this.answer = answer;
    const e = this.elements;
    const tasks = [...new Set(answer.rows.map((r) => r.task))];
    const machines = [...new Set(answer.rows.map((r) => r.machine))].sort();
    refill(e.task, tasks.map((t) => [t, t]));
    // GPQA-Diamond first where the answer has it: the benchmark the issue compares on.
    refill(e.benchmark, answer.benchmarks.map((b) => [b, b]), answer.benchmarks.includes('GPQA-Diamond') ? 'GPQA-Diamond' : null);
    refill(e.machine, [['', 'least energy across machines'], ...machines.map((m) => [m, `on ${m}`])]);
    this.draw();
  }

  draw() {
    const e = this.elements;
    const container = e.chart;
    container.replaceChildren();
    if (!this.answer) return;
    const task = e.task.value;
    const benchmark = e.benchmark.value;
    const machine = e.machine.value;
    const { points, withoutScore } = tradeoffPoints(this.answer, { task, benchmark, machine });
    const front = paretoFront(points);
    const onFront = new Set(front.map((p) => p.model));
    e.note.textContent = `${points.length} models with a published ${benchmark} score, each at its least energy per ${task} response`
      + `${machine ? ` on ${machine}` : ' across the machines'}; ${withoutScore} without one left out.`
      + `${front.length ? ` ${front.length} on the Pareto front (no other model scores as high for less energy).` : ''}`;
    e.note.dataset.points = String(points.length);
    e.note.dataset.withoutScore = String(withoutScore);
    if (!points.length) return;

    const width = Math.max(480, container.clientWidth || 720);
    const height = 340;
    const margin = { top: 16, right: 24, bottom: 42, left: 56 };
    const energies = points.map((p) => p.row.energy_per_response_j);
    const scores = points.map((p) => p.score);
    const x = d3.scaleLog().domain([d3.min(energies) / 1.3, d3.max(energies) * 1.3]).range([margin.left, width - margin.right]);
    const y = d3.scaleLinear().domain([Math.max(0, d3.min(scores) - 5), Math.min(100, d3.max(scores) + 5)]).nice()
      .range([height - margin.bottom, margin.top]);
    const svg = d3.select(container).append('svg').attr('class', 'tradeoff-svg').attr('width', width).attr('height', height)
      .attr('role', 'img')
      .attr('aria-label', `${benchmark} score against energy per ${task} response, ${points.length} models, the Pareto front drawn`);
    svg.append('g').attr('transform', `translate(0,${height - margin.bottom})`).call(d3.axisBottom(x).ticks(6).tickFormat((v) => {
      const mantissa = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
      return [1, 2, 5].some((k) => Math.abs(mantissa - k) < 1e-6) ? formatEnergyTick(v) : '';
    }))
      .append('text').attr('x', (margin.left + width - margin.right) / 2).attr('y', 34).attr('fill', 'currentColor')
      .attr('text-anchor', 'middle').text(`energy per response (${task}), log scale`);
    svg.append('g').attr('transform', `translate(${margin.left},0)`).call(d3.axisLeft(y).ticks(6))
      .append('text').attr('transform', 'rotate(-90)').attr('x', -(height - margin.bottom + margin.top) / 2).attr('y', -40)
      .attr('fill', 'currentColor').attr('text-anchor', 'middle').text(`${benchmark} score (%)`);

    // A staircase: between two front models, the best score reachable is the cheaper one's.
    const line = d3.line().curve(d3.curveStepAfter).x((p) => x(p.row.energy_per_response_j)).y((p) => y(p.score));
    svg.append('path').attr('class', 'tradeoff-pareto').attr('d', line(front));
    svg.append('g').attr('class', 'tradeoff-points').selectAll('circle').data(points).join('circle')
      .attr('class', (p) => `tradeoff-point${onFront.has(p.model) ? ' pareto' : ''}`)
      .attr('data-model', (p) => p.model)
      .attr('cx', (p) => x(p.row.energy_per_response_j)).attr('cy', (p) => y(p.score)).attr('r', 4.5)
      .append('title').text((p) => describe(p, benchmark, onFront.has(p.model)));
    svg.append('g').attr('class', 'tradeoff-labels').selectAll('text').data(front).join('text')
      .attr('x', (p) => x(p.row.energy_per_response_j) + 7).attr('y', (p) => y(p.score) + 4)
      .text((p) => shortName(p.model));
  }
}

function refill(select, options, preferred = null) {
  const before = select.value;
  select.innerHTML = options.map(([value, text]) => `<option value="${escapeHtml(value)}">${escapeHtml(text)}</option>`).join('');
  if (options.some(([value]) => value === before)) select.value = before;
  else if (preferred != null) select.value = preferred;
}
