// Measurement campaigns (GET /api/campaigns, /api/campaigns/{name}): a campaign's
// progress as the store holds it (done, failed, running, not started), and every point
// with its measured latency and energy beside the energy a predictor gives the same
// configuration. Followed while the section is open and the campaign has work left.

import { fetchCampaign, fetchCampaigns } from './api.js';
import { escapeHtml, formatEnergy, formatSeconds } from './format.js';

const POLL_MS = 5000;
// Statuses in the order the progress bar draws them, with their bootstrap colours.
const STATUSES = [
  ['done', 'Done', 'bg-success'],
  ['failed', 'Failed', 'bg-danger'],
  ['lost', 'Lost', 'bg-warning'],
  ['running', 'Running', 'bg-info'],
  ['not_started', 'Not started', 'bg-secondary'],
];

function progressBar(c) {
  const total = Math.max(1, c.points);
  const parts = STATUSES.filter(([key]) => c[key] > 0).map(([key, label, colour]) => {
    const pct = (100 * c[key]) / total;
    return `<div class="progress-bar ${colour}" data-status="${key}" style="width: ${pct}%" title="${label}: ${c[key]}">${c[key]}</div>`;
  });
  return `<div class="progress-stacked mb-1" role="img" aria-label="${c.done} of ${c.points} points done">${parts.join('')}</div>`;
}

function counts(c) {
  const said = STATUSES.map(([key, label]) => `${label.toLowerCase()} ${c[key]}`).join(', ');
  const repeats = c.repeats_discarded > 0 ? `; ${c.repeats_discarded} repeated measurements kept out` : '';
  const subs = c.submissions.map((s) => (s.kind === 'slurm' ? `Slurm job ${s.job_id}` : s.job_id)).join(', ');
  return `<div class="small" id="campaign-counts"><strong>${c.done} of ${c.points}</strong> points measured: ${said}${repeats}.</div>`
    + `<div class="tiny text-body-secondary">${escapeHtml(subs ? `Submitted as ${subs}.` : 'Not submitted yet.')}</div>`;
}

function pointRow(p) {
  const badge = STATUSES.find(([key]) => key === p.status) || [p.status, p.status, 'bg-secondary'];
  const cell = (v, format) => (v == null ? '<span class="text-body-secondary">–</span>' : format(v));
  const error = p.error ? ` title="${escapeHtml(p.error)}"` : '';
  return `<tr data-key="${escapeHtml(p.key)}" data-status="${escapeHtml(p.status)}">`
    + `<td class="text-end">${p.index}</td><td>${escapeHtml(p.model)}</td><td class="text-end">${p.batch_size}</td>`
    + `<td class="text-end">${p.seq_len}</td><td class="text-end">${p.repetition}</td>`
    + `<td><span class="badge ${badge[2]}"${error}>${escapeHtml(badge[1])}</span></td>`
    + `<td class="tiny text-body-secondary">${escapeHtml(p.task || '')}</td>`
    + `<td class="text-end measured-latency">${cell(p.latency_s, formatSeconds)}</td>`
    + `<td class="text-end">${cell(p.energy_j, formatEnergy)}</td>`
    + `<td class="text-end predicted-energy">${cell(p.predicted_energy_j, formatEnergy)}</td></tr>`;
}

export class CampaignPanel {
  // elements: { section, select, refresh, summary, table, machine }
  constructor(elements, { onStatus }) {
    this.elements = elements;
    this.onStatus = onStatus;
    this.timer = null;
    this.loaded = false;
    elements.section.addEventListener('toggle', () => (elements.section.open ? this.open() : this.stop()));
    elements.select.addEventListener('change', () => this.show());
    elements.refresh.addEventListener('click', () => this.open());
  }

  // The campaigns of the store, the one chosen before kept chosen.
  async open() {
    this.onStatus(null);
    let answer;
    try {
      answer = await fetchCampaigns();
    } catch (error) {
      this.onStatus(error);
      return;
    }
    const { select } = this.elements;
    const before = select.value;
    const state = (c) => (c.error ? 'unreadable' : `${c.done} of ${c.points} done`);
    select.innerHTML = answer.campaigns.map((c) => `<option value="${escapeHtml(c.name)}">${escapeHtml(c.name)} (${state(c)})</option>`).join('');
    this.elements.machine.textContent = `Store: ${answer.store}. Predictions: PC1's predictor (the IrEne dataset's machine).`;
    if (!answer.campaigns.length) {
      this.elements.summary.innerHTML = '<p class="small text-body-secondary mb-0" id="campaign-empty">No campaigns in this store: <code>irene campaign submit FILE --db URL</code> starts one (README, "On a cluster").</p>';
      this.elements.table.hidden = true;
      return;
    }
    if (answer.campaigns.some((c) => c.name === before)) select.value = before;
    await this.show();
  }

  async show() {
    this.stop();
    const name = this.elements.select.value;
    if (!name) return;
    let c;
    try {
      c = await fetchCampaign(name);
    } catch (error) {
      this.onStatus(error);
      return;
    }
    if (name !== this.elements.select.value) return; // another was chosen meanwhile
    this.elements.summary.innerHTML = progressBar(c) + counts(c);
    this.elements.table.querySelector('tbody').innerHTML = c.results.map(pointRow).join('');
    this.elements.table.hidden = false;
    const busy = c.running > 0 || (c.not_started > 0 && c.submissions.length > 0);
    if (busy && this.elements.section.open) this.timer = setTimeout(() => this.show(), POLL_MS);
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }
}
