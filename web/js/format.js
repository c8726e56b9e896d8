// Number formatting shared by every view, so a figure reads the same everywhere.

const NBSP = '\u00a0';

// Axis ticks: a bare 0, then the unit the magnitude suggests.
export function formatEnergyTick(joules) {
  return joules === 0 ? '0' : formatEnergy(joules);
}

// Energy in the unit its magnitude suggests: µJ, mJ, J, kJ, MJ.
export function formatEnergy(joules) {
  if (joules == null || !Number.isFinite(joules)) return '—';
  const abs = Math.abs(joules);
  if (abs === 0) return `0${NBSP}mJ`;
  if (abs < 1e-3) return `${trim(joules * 1e6)}${NBSP}µJ`;
  if (abs < 1) return `${trim(joules * 1e3)}${NBSP}mJ`;
  if (abs < 1e3) return `${trim(joules)}${NBSP}J`;
  if (abs < 1e6) return `${trim(joules / 1e3)}${NBSP}kJ`;
  return `${trim(joules / 1e6)}${NBSP}MJ`;
}

// Always in millijoules: the unit the tooltip and the paper use for node energies.
export function formatMillijoules(joules) {
  if (joules == null || !Number.isFinite(joules)) return '—';
  return `${trim(joules * 1e3)}${NBSP}mJ`;
}

// Three significant digits, without a trailing ".0" noise.
function trim(value) {
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  return Number(value.toFixed(digits)).toLocaleString('en-US', { maximumFractionDigits: digits });
}

export function formatPercent(fraction, digits = 1) {
  if (fraction == null || !Number.isFinite(fraction)) return '—';
  const pct = fraction * 100;
  if (pct !== 0 && Math.abs(pct) < 0.1 && digits <= 1) return `${pct < 0 ? '-' : ''}<0.1${NBSP}%`;
  return `${pct.toFixed(digits)}${NBSP}%`;
}

// Signed percent, for errors and differences.
export function formatSignedPercent(pct) {
  if (pct == null || !Number.isFinite(pct)) return '—';
  return `${pct > 0 ? '+' : ''}${pct.toFixed(1)}${NBSP}%`;
}

// Counts such as FLOPs and parameters with SI prefixes: 1.79 G, 110 M.
export function formatCount(count) {
  if (count == null || !Number.isFinite(count)) return '—';
  const abs = Math.abs(count);
  const units = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [size, prefix] of units) {
    if (abs >= size) return `${trim(count / size)}${NBSP}${prefix}`;
  }
  return String(count);
}

export function formatBytes(bytes) {
  if (bytes == null || !Number.isFinite(bytes)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value}${NBSP}B` : `${trim(value)}${NBSP}${units[unit]}`;
}

export function formatSeconds(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return '—';
  const abs = Math.abs(seconds);
  if (abs < 1e-3) return `${trim(seconds * 1e6)}${NBSP}µs`;
  if (abs < 1) return `${trim(seconds * 1e3)}${NBSP}ms`;
  return `${trim(seconds)}${NBSP}s`;
}

export function formatMoney(amount, currency) {
  if (amount == null || !Number.isFinite(amount)) return '—';
  const digits = Math.abs(amount) < 1 ? 4 : 2;
  return `${amount.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 2 })}${NBSP}${currency}`;
}

// Grams of CO2, switching to kg and t when large.
export function formatCo2(grams) {
  if (grams == null || !Number.isFinite(grams)) return '—';
  const abs = Math.abs(grams);
  if (abs >= 1e6) return `${trim(grams / 1e6)}${NBSP}t${NBSP}CO₂`;
  if (abs >= 1e3) return `${trim(grams / 1e3)}${NBSP}kg${NBSP}CO₂`;
  return `${trim(grams)}${NBSP}g${NBSP}CO₂`;
}

export function formatKwh(kwh) {
  if (kwh == null || !Number.isFinite(kwh)) return '—';
  if (Math.abs(kwh) < 1e-3) return `${trim(kwh * 1e3)}${NBSP}Wh`;
  return `${trim(kwh)}${NBSP}kWh`;
}

// Escapes text for insertion into innerHTML (tooltips, tables).
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[ch]);
}
