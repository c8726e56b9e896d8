// Measure here: asks the server to profile the configuration on screen on its own machine
// (POST /api/profiles), follows the job's progress, and shows where the time (and, with
// an energy meter, the energy) went there. The figures are attached to the tree's nodes
// as `node.local`, so the tooltips show them beside the prediction; they never replace
// the prediction or the dataset's measurements, which are for another machine.

import { cancelProfile, fetchProfile, startProfile } from './api.js';
import { escapeHtml, formatMillijoules, formatPercent, formatSeconds } from './format.js';
import { fullName, joinKey } from './tree-model.js';

const POLL_MS = 400;
const TOP_NODES = 15;
export const MAX_PROFILE_TOKENS = 4096; // the server's limit on batch_size x seq_len

export class MeasurePanel {
  // elements: { start, cancel, seconds, rounds, level, file, plan, progress, bar, status, result, table }
  // onOpenOther(selection): show that configuration, resolving to true once it is on screen.
  constructor(elements, { onStatus, onOpenOther }) {
    this.elements = elements;
    this.onStatus = onStatus;
    this.onOpenOther = onOpenOther;
    this.model = null;
    this.jobId = null;
    this.runId = 0;
    elements.start.addEventListener('click', () => this.start());
    elements.cancel.addEventListener('click', () => this.cancel());
    elements.file.addEventListener('change', () => this.openFile(elements.file.files[0]));
  }

  // A profile written by `irene profile -o FILE.json`, on any machine: shown beside the
  // prediction of the same configuration (which is opened first when another is on screen).
  async openFile(file) {
    if (!file) return;
    this.onStatus(null);
    let doc;
    try {
      const text = await file.text();
      this.elements.file.value = ''; // so that choosing the same file again reads it again
      doc = JSON.parse(text);
    } catch (error) {
      this.onStatus(new Error(`${file.name} is not JSON (${error.message}).`));
      return;
    }
    if (!doc || doc.schema !== 'irene.tree/1' || !doc.root || !doc.profile) {
      this.onStatus(new Error(`${file.name} is not a profile: expected the JSON of \`irene profile\` (schema irene.tree/1 with a "profile" header).`));
      return;
    }
    const selection = { model: doc.model, batch_size: String(doc.batch_size), seq_len: String(doc.seq_len) };
    if (!this.model || !sameConfiguration(this.model.selection, selection)) {
      const shown = await this.onOpenOther(selection);
      if (!shown) return;
    }
    this.show(selection, doc);
  }

  // A new answer on screen: results of another configuration no longer apply.
  setModel(model) {
    const previous = this.model;
    const same = previous && sameConfiguration(previous.selection, model.selection);
    this.model = model;
    if (same) {
      if (previous.measuredHere) this.show(previous.measuredHere.selection, previous.measuredHere.result);
      return;
    }
    if (this.jobId != null) {
      this.cancel();
      this.runId += 1; // stop following the old job
      this.jobId = null;
      this.setRunning(false);
    }
    this.elements.result.hidden = true;
    this.elements.progress.hidden = true;
    this.onStatus(null);
    this.describePlan();
  }

  describePlan() {
    const sel = this.model.selection;
    const tokens = Number(sel.batch_size) * Number(sel.seq_len);
    const over = tokens > MAX_PROFILE_TOKENS;
    this.elements.start.disabled = over || this.jobId != null;
    this.elements.plan.textContent = over
      ? `Batch ${sel.batch_size} × sequence ${sel.seq_len} = ${tokens} tokens: the server measures at most ${MAX_PROFILE_TOKENS} tokens per forward pass. Choose a smaller configuration.`
      : `Runs every node of ${sel.model} (batch ${sel.batch_size}, sequence ${sel.seq_len}) alone on the machine serving this page, with its real inputs, and samples CPU, memory and energy meters while it runs.`;
  }

  settings() {
    return {
      seconds_per_node: Number(this.elements.seconds.value) || 0.05,
      rounds: Number(this.elements.rounds.value) || 1,
      level: this.elements.level.value || 'all',
    };
  }

  async start() {
    if (!this.model || this.jobId != null) return;
    const runId = ++this.runId;
    const selection = { ...this.model.selection };
    this.onStatus(null);
    this.setRunning(true);
    this.showProgress(0, 0, 'queued');
    try {
      const job = await startProfile(selection, this.settings());
      if (runId !== this.runId) {
        cancelProfile(job.id).catch(() => {});
        return;
      }
      this.jobId = job.id;
      await this.follow(job.id, runId, selection);
    } catch (error) {
      if (runId === this.runId) this.onStatus(error);
    } finally {
      if (runId === this.runId) {
        this.jobId = null;
        this.setRunning(false);
      }
    }
  }

  async follow(id, runId, selection) {
    for (;;) {
      const job = await fetchProfile(id);
      if (runId !== this.runId) return;
      this.showProgress(job.nodes_done || 0, job.nodes_total || 0, job.status);
      if (job.status === 'failed') throw new Error(job.error || 'the profile failed');
      if (job.status === 'done' || job.status === 'cancelled') {
        if (job.result) this.show(selection, job.result);
        return;
      }
      await new Promise((resolve) => { setTimeout(resolve, POLL_MS); });
    }
  }

  cancel() {
    const id = this.jobId;
    if (id == null) return;
    // The server keeps the nodes finished so far; follow() shows them when it sees "cancelled".
    cancelProfile(id).catch((error) => this.onStatus(error));
  }

  setRunning(running) {
    this.elements.start.disabled = running;
    this.elements.cancel.hidden = !running;
    if (!running) this.describePlan();
  }

  showProgress(done, total, status) {
    const fraction = total > 0 ? done / total : 0;
    this.elements.progress.hidden = false;
    this.elements.bar.style.width = `${(100 * fraction).toFixed(1)}%`;
    this.elements.bar.parentElement.setAttribute('aria-valuenow', String(Math.round(100 * fraction)));
    this.elements.status.textContent = status === 'queued' && total === 0
      ? 'Waiting for the server (one profile runs at a time)…'
      : `${status}: ${done} of ${total} node runs`;  // every node once per round
  }

  // Shows a finished profile, if the configuration it measured is still on screen.
  show(selection, result) {
    const model = this.model;
    if (!model || !sameConfiguration(model.selection, selection)) return;
    attach(model, result);
    model.measuredHere = { selection, result };
    this.render(model, result); // the tooltips read node.local when they open
  }

  render(model, result) {
    const header = result.profile || {};
    const settings = header.settings || {};
    const root = model.root.local;
    const machine = header.machine
      ? `${header.machine.cpu}${header.machine.gpu && header.machine.gpu !== 'none' ? `, ${header.machine.gpu}` : ''}`
      : 'an unnamed machine';
    let energy = null;
    if (root && root.energy_j != null) energy = `${formatMillijoules(root.energy_j)} measured per forward pass`;
    else if (root) energy = `energy not measured: ${root.energy_note || 'no reading'}`;
    else if (!(header.meters || []).length && header.meter_summary) energy = `energy not measured: ${header.meter_summary}`;
    const facts = [
      root ? `forward pass ${formatSeconds(root.times_mean_s)}` : null,
      energy,
      `${header.nodes_measured ?? '?'} nodes measured, ${header.nodes_reused ?? '?'} reused (identical nodes are measured once)`,
      settings.device ? `${settings.device}${settings.threads ? `, ${settings.threads} CPU threads` : ''}` : null,
      header.start ? `started ${header.start}` : null,
      header.complete === false ? 'stopped early: only the nodes finished are shown' : null,
    ].filter(Boolean);
    this.elements.result.hidden = false;
    this.elements.result.querySelector('.measure-machine').textContent = `Measured on ${machine}`;
    this.elements.result.querySelector('.measure-facts').textContent = facts.join(' · ');
    this.renderTable(model);
  }

  // The nodes that took longest in the profile, beside their predicted share of the energy.
  renderTable(model) {
    const rootTime = model.root.local ? model.root.local.times_mean_s : null;
    const rows = model.nodes
      .filter((n) => n.local && n.parent && n.kind !== 'math')
      .sort((a, b) => b.local.times_mean_s - a.local.times_mean_s)
      .slice(0, TOP_NODES);
    const body = rows.map((n) => `<tr>
        <td class="text-truncate" title="${escapeHtml(fullName(n))}">${escapeHtml(fullName(n))}</td>
        <td class="text-end">${formatSeconds(n.local.times_mean_s)}</td>
        <td class="text-end">${rootTime ? formatPercent(n.local.times_mean_s / rootTime) : '—'}</td>
        <td class="text-end">${n.local.cpu_pct != null ? `${n.local.cpu_pct.toFixed(0)}&nbsp;%` : '—'}</td>
        <td class="text-end">${n.local.energy_j != null ? formatMillijoules(n.local.energy_j) : '—'}</td>
        <td class="text-end">${formatPercent(n.shareOfModel, 2)}</td>
      </tr>`).join('');
    this.elements.table.querySelector('tbody').innerHTML = body
      || '<tr><td colspan="6" class="text-body-secondary">No node below the model was measured.</td></tr>';
  }
}

function sameConfiguration(a, b) {
  return ['model', 'batch_size', 'seq_len'].every((k) => String(a[k]) === String(b[k]));
}

// Puts each profiled node's `measured` block on the matching node on screen (same path
// and class: both trees come from the same tracer).
function attach(model, result) {
  const measured = new Map();
  const walk = (raw) => {
    if (raw.measured) measured.set(joinKey(raw.path ?? '', raw.class ?? ''), raw.measured);
    for (const child of raw.children || []) walk(child);
  };
  if (result.root) walk(result.root);
  for (const node of model.nodes) node.local = measured.get(node.key) || null;
}
