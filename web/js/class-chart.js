// Energy by operation type: one horizontal bar per class (all Linear, all MatMul, ...),
// with the measured sum beside the predicted one when the API returned measurements.

import { aggregateByClass } from './tree-model.js';
import { formatEnergy, formatEnergyTick, formatPercent, formatSeconds } from './format.js';

const d3 = window.d3;

export function drawClassChart(container, model, level) {
  const rows = aggregateByClass(model, level);
  container.replaceChildren();
  if (!rows.length) {
    container.innerHTML = '<p class="text-body-secondary">No node of this level carries energy.</p>';
    return rows;
  }
  const withMeasured = rows.some((r) => r.measuredCount > 0);
  const barHeight = withMeasured ? 30 : 24;
  const margin = { top: 8, right: 150, bottom: 28, left: 190 };
  const width = Math.max(480, container.clientWidth || 720);
  const height = margin.top + margin.bottom + rows.length * (barHeight + 8);
  const x = d3.scaleLinear()
    .domain([0, d3.max(rows, (r) => Math.max(r.energy, r.measured || 0))])
    .nice()
    .range([margin.left, width - margin.right]);
  const y = d3.scaleBand().domain(rows.map((r) => r.className))
    .range([margin.top, height - margin.bottom]).padding(0.22);

  const svg = d3.select(container).append('svg')
    .attr('class', 'class-chart')
    .attr('width', width).attr('height', height)
    .attr('role', 'img')
    .attr('aria-label', `${model.unit === 'time' ? 'Time' : 'Energy'} by operation type: ${rows.map((r) => `${r.className} ${model.format(r.energy)}`).join(', ')}`);

  svg.append('g').attr('transform', `translate(0,${height - margin.bottom})`)
    .call(d3.axisBottom(x).ticks(Math.max(2, Math.floor(width / 110))).tickFormat(model.unit === 'time' ? formatSeconds : formatEnergyTick));

  const bar = svg.append('g').selectAll('g').data(rows).join('g')
    .attr('class', 'class-bar')
    .attr('data-class', (r) => r.className)
    .attr('transform', (r) => `translate(0,${y(r.className)})`);
  const predictedHeight = withMeasured ? y.bandwidth() * 0.58 : y.bandwidth();
  bar.append('rect').attr('class', (r) => (r.remainder ? 'bar-remainder' : 'bar-predicted'))
    .attr('x', x(0)).attr('height', predictedHeight)
    .attr('width', (r) => Math.max(1, x(r.energy) - x(0)));
  if (withMeasured) {
    bar.filter((r) => r.measuredCount > 0).append('rect').attr('class', 'bar-measured')
      .attr('x', x(0)).attr('y', predictedHeight + 1).attr('height', y.bandwidth() - predictedHeight - 1)
      .attr('width', (r) => Math.max(1, x(r.measured) - x(0)));
  }
  bar.append('text').attr('class', 'bar-label').attr('x', margin.left - 8).attr('y', y.bandwidth() / 2)
    .attr('dy', '0.35em').attr('text-anchor', 'end')
    .text((r) => (r.count ? `${r.className} ×${r.count}` : r.className));
  bar.append('text').attr('class', 'bar-value').attr('x', (r) => x(r.energy) + 6).attr('y', predictedHeight / 2)
    .attr('dy', '0.35em')
    .text((r) => `${model.format(r.energy)} · ${formatPercent(r.share)}`);
  bar.append('title').text((r) => `${r.className}: predicted ${model.format(r.energy)}`
    + `${r.measuredCount ? `, measured ${formatEnergy(r.measured)} (${r.measuredCount} of ${r.count} nodes measured)` : ''}`);

  if (withMeasured) {
    const legend = document.createElement('p');
    legend.className = 'small text-body-secondary mt-1';
    legend.innerHTML = '<span class="swatch bar-predicted-swatch"></span> predicted '
      + '<span class="swatch bar-measured-swatch ms-3"></span> measured (sum of the measured nodes)';
    container.appendChild(legend);
  }
  if (level === 'module') {
    const note = document.createElement('p');
    note.className = 'small text-body-secondary';
    note.textContent = 'Modules nest (a layer contains its attention), so these bars overlap and do not add up to the total.';
    container.appendChild(note);
  }
  return rows;
}

