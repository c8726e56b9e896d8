// One colour scale for the tree, the icicle and the legend: darker means a larger share of
// the model's energy. Shares span four orders of magnitude (the encoder ~99 %, one Linear
// ~0.5 %, a LayerNorm ~0.03 %), so the scale is logarithmic; a linear one would paint
// nearly every node the palest colour.

const d3 = window.d3;

export const SHARE_FLOOR = 1e-4;
export const NO_ENERGY_COLOR = '#e9ecef';

const scale = d3.scaleSequentialLog()
  .domain([SHARE_FLOOR, 1])
  .clamp(true)
  // Start a little into the ramp so the smallest shares still differ from the background.
  .interpolator((t) => d3.interpolateYlOrRd(0.1 + 0.9 * t));

export function shareColor(share) {
  if (share == null || !Number.isFinite(share) || share <= 0) return NO_ENERGY_COLOR;
  return scale(Math.max(share, SHARE_FLOOR));
}

// Text drawn on a coloured cell must stay readable: white on the dark end of the ramp.
export function textColorOn(share) {
  if (share == null || share <= 0) return '#212529';
  const { l } = d3.hsl(shareColor(share));
  return l < 0.5 ? '#fff' : '#212529';
}

// Draws the legend into an <svg> element: a gradient bar with share ticks.
export function drawLegend(svgElement, width = 220) {
  const svg = d3.select(svgElement).attr('width', width).attr('height', 34);
  svg.selectAll('*').remove();
  const id = 'share-gradient';
  const gradient = svg.append('defs').append('linearGradient').attr('id', id);
  const stops = d3.range(0, 1.0001, 0.1);
  gradient.selectAll('stop').data(stops).join('stop')
    .attr('offset', (t) => `${t * 100}%`)
    .attr('stop-color', (t) => shareColor(SHARE_FLOOR * (1 / SHARE_FLOOR) ** t));
  const x = d3.scaleLog().domain([SHARE_FLOOR, 1]).range([8, width - 8]);
  svg.append('rect').attr('x', 8).attr('y', 2).attr('width', width - 16).attr('height', 10)
    .attr('fill', `url(#${id})`).attr('stroke', '#adb5bd');
  const axis = d3.axisBottom(x).tickValues([1e-4, 1e-3, 1e-2, 1e-1, 1])
    .tickFormat((v) => `${+(v * 100).toPrecision(1)}%`).tickSize(3);
  svg.append('g').attr('transform', 'translate(0,12)').call(axis)
    .call((g) => g.select('.domain').remove())
    .selectAll('text').attr('font-size', 10);
}
