// The advisor's frontier (GET /api/advise, `frontier_itl`): the setups that no other setup
// beats on both median inter-token latency and energy per output token, drawn as energy
// against latency with the ITL objective as a vertical line. The pick is marked, so one
// sees what a looser or tighter objective would have chosen instead; a point opens that
// setup in the serving card (its figures and its step tree).

import { formatEnergy, formatEnergyTick, formatSeconds } from './format.js';

const d3 = window.d3;

// One line per figure: what a reader compares between two points.
function describe(p, role) {
  const layout = `TP ${p.tensor_parallel}${p.data_parallel > 1 ? ` × DP ${p.data_parallel}` : ''}${p.expert_parallel ? ', EP' : ''}`;
  return [
    `${role ? `${role}: ` : ''}${p.setup}`,
    `${p.num_gpus} × ${p.machine} (${layout}), batch ${p.batch_size}, weights ${p.quantization || 'as stored'}`
      + `${p.kv_cache_dtype ? `, KV cache ${p.kv_cache_dtype}` : ''}, ${p.engine}`,
    `energy per output token ${formatEnergy(p.energy_per_output_token_j)}, median ITL ${formatSeconds(p.itl_median_s)}`
      + `${p.ttft_s != null ? `, TTFT ${formatSeconds(p.ttft_s)}` : ''}`,
    `${Math.round(p.throughput_per_gpu).toLocaleString('en-US')} tokens/s per GPU, ${p.meets_slo ? 'meets' : 'misses'} the objectives`,
    'Click (or Enter) to open this setup in the serving card and its step tree',
  ].join('\n');
}

// Log-scale ticks labelled at 1, 2 and 5 of each decade only: the others crowd.
function decadeLabel(format) {
  return (v) => {
    const mantissa = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
    return [1, 2, 5].some((k) => Math.abs(mantissa - k) < 1e-6) ? format(v) : '';
  };
}

// advice: the /api/advise answer; onOpen(candidate) when a point is clicked or activated.
export function drawFrontier(container, advice, { onOpen }) {
  container.replaceChildren();
  const chosen = advice.best ? advice.best.setup : null;
  const runnerUp = advice.runner_up ? advice.runner_up.setup : null;
  const closest = advice.closest_miss ? advice.closest_miss.setup : null;
  const points = [...(advice.frontier_itl || [])];
  // The pick lies on the frontier in every answer seen; drawn anyway if it ever does not.
  if (advice.best && !points.some((p) => p.setup === chosen)) points.push(advice.best);
  if (!points.length) return 0;
  const role = (p) => (p.setup === chosen ? 'chosen' : p.setup === runnerUp ? 'runner-up' : p.setup === closest ? 'closest' : '');

  const width = Math.max(480, container.clientWidth || 640);
  const height = 300;
  const margin = { top: 30, right: 20, bottom: 42, left: 70 };
  const sloMs = advice.request.itl_slo_s * 1000;
  const itls = points.map((p) => p.itl_median_s * 1000);
  const energies = points.map((p) => p.energy_per_output_token_j);
  const x = d3.scaleLog().domain([Math.min(d3.min(itls), sloMs) / 1.2, Math.max(d3.max(itls), sloMs) * 1.2])
    .range([margin.left, width - margin.right]);
  const y = d3.scaleLog().domain([d3.min(energies) / 1.3, d3.max(energies) * 1.3]).range([height - margin.bottom, margin.top]);
  const svg = d3.select(container).append('svg').attr('class', 'frontier-svg').attr('width', width).attr('height', height)
    .attr('role', 'group')
    .attr('aria-label', `Energy per output token against median inter-token latency: ${points.length} setups of ${advice.model} no other beats on both`);
  svg.append('g').attr('transform', `translate(0,${height - margin.bottom})`)
    .call(d3.axisBottom(x).ticks(8).tickFormat(decadeLabel((v) => `${d3.format('~g')(v)}`)))
    .append('text').attr('x', (margin.left + width - margin.right) / 2).attr('y', 34).attr('fill', 'currentColor')
    .attr('text-anchor', 'middle').text('median inter-token latency (ms)');
  svg.append('g').attr('transform', `translate(${margin.left},0)`).call(d3.axisLeft(y).ticks(6).tickFormat(decadeLabel(formatEnergyTick)))
    .append('text').attr('transform', 'rotate(-90)').attr('x', -(height - margin.bottom + margin.top) / 2).attr('y', -56)
    .attr('fill', 'currentColor').attr('text-anchor', 'middle').text('energy per output token');

  // The objective: every point left of it meets the ITL objective (a TTFT objective, when
  // set, can still exclude some; their colour says so).
  svg.append('line').attr('class', 'frontier-objective').attr('x1', x(sloMs)).attr('x2', x(sloMs))
    .attr('y1', margin.top).attr('y2', height - margin.bottom);
  // Its label on the side of the line with room for it.
  const labelLeft = x(sloMs) > (margin.left + width - margin.right) / 2;
  svg.append('text').attr('class', 'frontier-objective-label').attr('x', x(sloMs) + (labelLeft ? -4 : 4)).attr('y', margin.top + 10)
    .attr('text-anchor', labelLeft ? 'end' : 'start').text(`ITL objective ${d3.format('~g')(sloMs)} ms`);

  const ordered = [...points].sort((a, b) => a.itl_median_s - b.itl_median_s);
  const line = d3.line().x((p) => x(p.itl_median_s * 1000)).y((p) => y(p.energy_per_output_token_j));
  svg.append('path').attr('class', 'frontier-line').attr('d', line(ordered));

  // The marked points last, so they sit on top.
  const drawn = [...ordered].sort((a, b) => Boolean(role(a)) - Boolean(role(b)));
  svg.append('g').attr('class', 'frontier-points').selectAll('circle').data(drawn).join('circle')
    .attr('class', (p) => `frontier-point ${p.meets_slo ? 'meets' : 'misses'} ${role(p)}`.trim())
    .attr('data-setup', (p) => p.setup)
    .attr('cx', (p) => x(p.itl_median_s * 1000)).attr('cy', (p) => y(p.energy_per_output_token_j))
    .attr('r', (p) => (role(p) === 'chosen' ? 7 : 4.5))
    .attr('tabindex', 0).attr('role', 'button')
    .attr('aria-label', (p) => `${role(p) ? `${role(p)}: ` : ''}${p.setup}`)
    .on('click', (event, p) => onOpen(p))
    .on('keydown', (event, p) => {
      if (event.key !== 'Enter' && event.key !== ' ') return;
      event.preventDefault();
      onOpen(p);
    })
    .append('title').text((p) => describe(p, { chosen: 'the pick', 'runner-up': 'runner-up', closest: 'closest miss' }[role(p)]));

  // The legend in a strip above the plot, where no point can hide it.
  const legend = svg.append('g').attr('class', 'frontier-legend').attr('transform', `translate(${margin.left},10)`);
  const items = [['meets', 'meets the objectives'], ['misses', 'misses them'], [advice.best ? 'chosen' : 'closest', advice.best ? 'the pick' : 'closest miss']];
  items.forEach(([cls, text], i) => {
    legend.append('circle').attr('class', `frontier-point-key ${cls}`).attr('cx', 6 + i * 150).attr('cy', 0).attr('r', cls === 'chosen' ? 6 : 4.5);
    legend.append('text').attr('x', 16 + i * 150).attr('y', 4).text(text);
  });
  return points.length;
}
