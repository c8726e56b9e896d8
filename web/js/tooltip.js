// The node tooltip shared by the tree and the icicle: everything the API says about a node.

import {
  escapeHtml, formatBytes, formatCount, formatMillijoules, formatPercent, formatSeconds,
  formatSignedPercent,
} from './format.js';
import { fullName } from './tree-model.js';

const KIND_NAMES = {
  model: 'model (root)',
  module: 'module',
  ml: 'ML op',
  'ml-np': 'ML op (no parameters)',
  math: 'math op',
  generation: 'generation (prefill + decode)',
  phase: 'phase',
};

export function tooltipHtml(node) {
  const raw = node.data;
  const rows = [];
  const row = (label, value) => rows.push(`<tr><th scope="row">${escapeHtml(label)}</th><td>${value}</td></tr>`);

  row('Predicted energy', node.energy != null
    ? formatMillijoules(node.energy)
    : '<span class="text-body-secondary">none of its own: counted in its parent\'s remainder</span>');
  if (node.measuredEnergy != null) {
    row('Measured energy', `${formatMillijoules(node.measuredEnergy)} <span class="text-body-secondary">(error ${formatSignedPercent(node.errorPct)})</span>`);
  }
  if (node.extrapolated) {
    row('Extrapolated', '<span class="text-warning-emphasis">yes: the predictor was never trained on this type; '
      + 'its energy comes from the fallback regressor (see the notes above the tree)</span>');
  }
  row('Kind', escapeHtml(KIND_NAMES[node.kind] || node.kind));
  row('% of model energy', formatPercent(node.shareOfModel, 2));
  if (node.parent) row('% of parent energy', formatPercent(node.shareOfParent, 2));
  if (raw.energy_remainder_j != null) row('Remainder', formatMillijoules(raw.energy_remainder_j));
  row('Memory (mem_bytes)', formatBytes(raw.mem_bytes));
  row('FLOPs', formatCount(raw.flops));
  row('Parameters', formatCount(raw.num_parameters));
  row('Latency', raw.latency_s == null ? '<span class="text-body-secondary">not traced</span>' : formatSeconds(raw.latency_s));
  if (raw.shapes) row('Shapes', `<code>${escapeHtml(raw.shapes)}</code>`);
  if (raw.dtype) row('dtype', escapeHtml(raw.dtype));
  if (raw.weight_dtype) row('Weights stored as', escapeHtml(raw.weight_dtype));
  row('Depth (level)', String(node.depth));
  appendMeasured(raw.measured, row);
  appendMeasuredHere(node.local, row);

  return `<div class="tt-title">${escapeHtml(fullName(node))}</div><table class="tt-table">${rows.join('')}</table>`;
}

// The measured block (IrEne dataset or a live profile): wall time and its spread, CPU/GPU
// utilisation and clocks, GPU energy, and why energy is missing when it is.
function appendMeasured(measured, row) {
  if (!measured) return;
  if (measured.times_mean_s != null) {
    const spread = measured.times_std_s ? ` ± ${formatSeconds(measured.times_std_s)}` : '';
    row('Measured time', formatSeconds(measured.times_mean_s) + spread);
  }
  if (measured.cpu_pct != null) row('CPU use', `${measured.cpu_pct.toFixed(1)}&nbsp;%`);
  if (measured.cpu_mhz != null) row('CPU clock', `${Math.round(measured.cpu_mhz)}&nbsp;MHz`);
  if (measured.mem_pct != null) row('Memory use', `${measured.mem_pct.toFixed(1)}&nbsp;%`);
  if (measured.gpu_pct != null) row('GPU use', `${measured.gpu_pct.toFixed(1)}&nbsp;%`);
  if (measured.gpu_mem_pct != null) row('GPU memory use', `${measured.gpu_mem_pct.toFixed(1)}&nbsp;%`);
  if (measured.gpu_energy_j != null) row('GPU energy', formatMillijoules(measured.gpu_energy_j));
  if (measured.gpu_clk_mhz != null) row('GPU clock', `${Math.round(measured.gpu_clk_mhz)}&nbsp;MHz`);
  if (measured.gpu_mem_clk_mhz != null) row('GPU memory clock', `${Math.round(measured.gpu_mem_clk_mhz)}&nbsp;MHz`);
  if (measured.energy_j == null && measured.energy_note) {
    row('Measured energy', `<span class="text-body-secondary">${escapeHtml(measured.energy_note)}</span>`);
  }
}

// What a profile (the server's, through "Measure here", or one opened from a file) found
// for the node, on the machine named in the Measure tab.
function appendMeasuredHere(local, row) {
  if (!local) return;
  row('Time (profile)', formatSeconds(local.times_mean_s));
  if (local.cpu_pct != null) row('CPU use (profile)', `${local.cpu_pct.toFixed(1)}&nbsp;%`);
  if (local.gpu_pct != null) row('GPU use (profile)', `${local.gpu_pct.toFixed(1)}&nbsp;%`);
  row('Energy (profile)', local.energy_j != null
    ? formatMillijoules(local.energy_j)
    : `<span class="text-body-secondary">${escapeHtml(local.energy_note || 'not measured')}</span>`);
  const byMeter = Object.entries(local.energy_by_meter_j || {});
  if (byMeter.length > 1) {
    for (const [meter, joules] of byMeter) row(`… ${meter}`, formatMillijoules(joules));
  }
}

// A floating box that follows the pointer, or sits beside an element on keyboard focus.
export class Tooltip {
  constructor(container) {
    this.element = document.createElement('div');
    this.element.className = 'node-tooltip';
    this.element.setAttribute('role', 'tooltip');
    this.element.hidden = true;
    container.appendChild(this.element);
  }

  show(node, clientX, clientY) {
    this.element.innerHTML = tooltipHtml(node);
    this.element.hidden = false;
    this.moveTo(clientX, clientY);
  }

  showBeside(node, element) {
    const box = element.getBoundingClientRect();
    this.show(node, box.right, box.top);
  }

  // Keeps the box inside the window: it flips to the left or above when near an edge.
  moveTo(clientX, clientY) {
    const box = this.element.getBoundingClientRect();
    const margin = 14;
    let left = clientX + margin;
    let top = clientY + margin;
    if (left + box.width > window.innerWidth - 4) left = Math.max(4, clientX - box.width - margin);
    if (top + box.height > window.innerHeight - 4) top = Math.max(4, window.innerHeight - box.height - 4);
    this.element.style.left = `${left}px`;
    this.element.style.top = `${top}px`;
  }

  hide() {
    this.element.hidden = true;
  }
}
