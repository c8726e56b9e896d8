// Compare two configurations: totals side by side and a per-node difference table. Nodes
// are joined by path + class, so two sizes of one model match node for node, and two
// different models match where their Hugging Face paths agree.

import { fetchEnergy } from './api.js';
import { buildModel } from './tree-model.js';
import {
  escapeHtml, formatEnergy, formatSignedPercent,
} from './format.js';
import { VirtualTable } from './virtual-table.js';

export function describe(selection) {
  return `${selection.model}, batch ${selection.batch_size}, seq ${selection.seq_len}, ${selection.machine || 'the default machine'}`;
}

// One row per node that has energy on at least one side.
export function joinNodes(modelA, modelB) {
  const rows = new Map();
  for (const node of modelA.nodes) {
    if (node.energy != null) rows.set(node.key, { key: node.key, node, a: node.energy, b: null });
  }
  for (const node of modelB.nodes) {
    if (node.energy == null) continue;
    const row = rows.get(node.key) || { key: node.key, node, a: null, b: null };
    row.b = node.energy;
    rows.set(node.key, row);
  }
  const list = [...rows.values()];
  for (const row of list) {
    row.diff = row.a != null && row.b != null ? row.b - row.a : null;
    row.diffPct = row.diff != null && row.a ? (row.diff / row.a) * 100 : null;
  }
  // Largest changes first; nodes present on one side only come after the matched ones.
  list.sort((x, y) => (x.diff == null) - (y.diff == null)
    || Math.abs(y.diff ?? 0) - Math.abs(x.diff ?? 0)
    || (y.a ?? y.b) - (x.a ?? x.b));
  return list;
}

export class ComparePanel {
  constructor(elements, { formA, formB, onStatus, onRun = () => {} }) {
    this.elements = elements; // { run, totals, table, search, count }
    this.formA = formA;
    this.formB = formB;
    this.onStatus = onStatus;
    this.onRun = onRun; // (a, b): told of every comparison asked for
    this.rows = [];
    this.table = new VirtualTable(elements.table, {
      columns: [
        {
          key: 'node', title: 'Node', width: 'minmax(0, 1fr)',
          html: (r) => `<span class="node-class">${escapeHtml(r.node.className)}</span>`
            + `<span class="node-path">${escapeHtml(r.node.path || '(root)')}</span>`,
        },
        { key: 'a', title: 'A', width: '5.2rem', align: 'end', html: (r) => formatEnergy(r.a) },
        { key: 'b', title: 'B', width: '5.2rem', align: 'end', html: (r) => formatEnergy(r.b) },
        { key: 'diff', title: 'B − A', width: '5.6rem', align: 'end', html: (r) => signedEnergy(r.diff) },
        { key: 'pct', title: 'Δ %', width: '4.6rem', align: 'end', html: (r) => formatSignedPercent(r.diffPct) },
      ],
      rowHeight: 38,
      rowKey: (r) => r.key,
      label: 'Per-node energy difference',
      emptyText: 'Pick two configurations and press Compare.',
    });
    elements.search.addEventListener('input', () => this.filter());
    elements.run.addEventListener('click', () => this.run());
  }

  async run() {
    const a = this.formA.value;
    const b = this.formB.value;
    this.onRun(a, b);
    this.elements.run.disabled = true;
    this.elements.totals.innerHTML = '<div class="d-flex align-items-center gap-2 text-body-secondary">'
      + '<span class="spinner-border spinner-border-sm" aria-hidden="true"></span> Loading both configurations…</div>';
    this.onStatus(null);
    try {
      const [answerA, answerB] = await Promise.all([fetchEnergy(a), fetchEnergy(b)]);
      const modelA = buildModel(answerA);
      const modelB = buildModel(answerB);
      this.rows = joinNodes(modelA, modelB);
      this.elements.totals.innerHTML = totalsHtml(a, modelA, b, modelB, this.rows);
      this.filter();
    } catch (error) {
      this.elements.totals.innerHTML = '';
      this.rows = [];
      this.filter();
      this.onStatus(error);
    } finally {
      this.elements.run.disabled = false;
    }
  }

  filter() {
    const text = this.elements.search.value.trim().toLowerCase();
    const rows = text
      ? this.rows.filter((r) => r.node.path.toLowerCase().includes(text) || r.node.className.toLowerCase().includes(text))
      : this.rows;
    this.table.setRows(rows);
    this.elements.count.textContent = this.rows.length ? `${rows.length} of ${this.rows.length} nodes` : '';
  }
}

function signedEnergy(joules) {
  if (joules == null) return '—';
  return `${joules > 0 ? '+' : joules < 0 ? '−' : ''}${formatEnergy(Math.abs(joules))}`;
}

function totalsHtml(a, modelA, b, modelB, rows) {
  const diff = modelB.totalEnergy - modelA.totalEnergy;
  const matched = rows.filter((r) => r.a != null && r.b != null).length;
  const onlyA = rows.filter((r) => r.b == null).length;
  const onlyB = rows.filter((r) => r.a == null).length;
  const side = (label, selection, model) => `
    <div class="col">
      <div class="card h-100 compare-side" data-side="${label}">
        <div class="card-body py-2">
          <div class="small text-body-secondary">${label}: ${escapeHtml(describe(selection))}</div>
          <div class="fs-4 fw-semibold compare-total">${formatEnergy(model.totalEnergy)}</div>
          <div class="small">predicted per forward pass${model.measuredTotal != null
    ? `; measured ${formatEnergy(model.measuredTotal)}` : ''}</div>
        </div>
      </div>
    </div>`;
  const ratio = modelA.totalEnergy ? modelB.totalEnergy / modelA.totalEnergy : null;
  return `<div class="row g-2 mb-2">${side('A', a, modelA)}${side('B', b, modelB)}
    <div class="col">
      <div class="card h-100"><div class="card-body py-2">
        <div class="small text-body-secondary">B − A</div>
        <div class="fs-4 fw-semibold compare-diff">${signedEnergy(diff)}</div>
        <div class="small">${ratio != null ? `B is ${ratio.toFixed(2)}× A` : ''}
          (${formatSignedPercent(ratio != null ? (ratio - 1) * 100 : null)})</div>
      </div></div>
    </div></div>
    <p class="small text-body-secondary mb-2">${matched} nodes matched by path and class`
    + `${onlyA ? `, ${onlyA} only in A` : ''}${onlyB ? `, ${onlyB} only in B` : ''}.</p>`;
}
