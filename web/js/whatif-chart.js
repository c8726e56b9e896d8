// What if: the node kinds whose energy per output token changes between side A and side B
// (the answer's `by_kind`, summed over the layers: model.layers.*.mlp.down_proj is every
// layer's down projection), as a diverging bar chart of B − A: decreases to the left in
// green, increases to the right in red, the largest change first as the server orders them.

import { formatEnergy, formatEnergyTick } from './format.js';

const d3 = window.d3;
const MAX_BARS = 16;
const ROW = 22;

function signed(joules) {
  return `${joules > 0 ? '+' : ''}${formatEnergy(joules)}`;
}

// "model.layers.*.mlp.down_proj" reads as "layers.*.mlp.down_proj": the model's prefix is
// the same on every row.
export function shortPath(path) {
  if (!path) return '(root)';
  return path.replace(/^model\./, '');
}

// Draws the bars; returns { drawn, changed, unchanged } for the note under the chart.
export function drawDeltaBars(container, byKind) {
  container.replaceChildren();
  const changed = (byKind || []).filter((r) => Number.isFinite(r.delta_j) && r.delta_j !== 0);
  const rows = changed.slice(0, MAX_BARS);
  const result = { drawn: rows.length, changed: changed.length, unchanged: (byKind || []).length - changed.length };
  if (!rows.length) return result;

  const width = Math.max(480, container.clientWidth || 640);
  const margin = { top: 8, right: 20, bottom: 34, left: 270 };
  const height = margin.top + margin.bottom + rows.length * ROW;
  const reach = d3.max(rows, (r) => Math.abs(r.delta_j));
  const x = d3.scaleLinear().domain([-reach, reach]).range([margin.left, width - margin.right]).nice();
  const y = d3.scaleBand().domain(rows.map((r, i) => i)).range([margin.top, height - margin.bottom]).padding(0.2);

  const svg = d3.select(container).append('svg').attr('class', 'whatif-svg').attr('width', width).attr('height', height)
    .attr('role', 'img')
    .attr('aria-label', `Change of energy per output token by node kind, B minus A: ${rows.length} kinds, largest first`);
  svg.append('g').attr('class', 'whatif-axis').attr('transform', `translate(0,${height - margin.bottom})`)
    .call(d3.axisBottom(x).ticks(6).tickFormat((v) => (v > 0 ? `+${formatEnergyTick(v)}` : formatEnergyTick(v))))
    .append('text').attr('x', (margin.left + width - margin.right) / 2).attr('y', 28).attr('fill', 'currentColor')
    .attr('text-anchor', 'middle').text('B − A, per output token (summed over the layers)');

  const bars = svg.append('g').attr('class', 'whatif-bars').selectAll('g').data(rows).join('g')
    .attr('class', (r) => `whatif-bar ${r.delta_j < 0 ? 'decrease' : 'increase'}`)
    .attr('data-path', (r) => r.path)
    .attr('data-class', (r) => r.class)
    .attr('data-delta', (r) => r.delta_j)
    .attr('transform', (r, i) => `translate(0,${y(i)})`);
  bars.append('rect')
    .attr('x', (r) => Math.min(x(0), x(r.delta_j)))
    .attr('width', (r) => Math.max(1, Math.abs(x(r.delta_j) - x(0))))
    .attr('height', y.bandwidth());
  bars.append('text').attr('class', 'whatif-bar-label').attr('x', margin.left - 6).attr('y', y.bandwidth() / 2)
    .attr('dy', '0.35em').attr('text-anchor', 'end')
    .text((r) => {
      const label = `${shortPath(r.path)} (${r.class})`;
      return label.length > 44 ? `…${label.slice(-43)}` : label;
    });
  // The figure on the other side of zero, where no bar of this row is.
  bars.append('text').attr('class', 'whatif-bar-value')
    .attr('x', (r) => x(0) + (r.delta_j < 0 ? 4 : -4)).attr('y', y.bandwidth() / 2).attr('dy', '0.35em')
    .attr('text-anchor', (r) => (r.delta_j < 0 ? 'start' : 'end'))
    .text((r) => signed(r.delta_j));
  bars.append('title').text((r) => `${r.path} (${r.class})\nA ${formatEnergy(r.a_j)} → B ${formatEnergy(r.b_j)} per output token: ${signed(r.delta_j)}`);
  svg.append('line').attr('class', 'whatif-zero').attr('x1', x(0)).attr('x2', x(0))
    .attr('y1', margin.top).attr('y2', height - margin.bottom);
  return result;
}
