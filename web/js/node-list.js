// "Node energies": every node of the tree with its predicted (and measured) energy,
// sortable, filterable by kind and text, virtualised. Top energy consumers come first.

import { escapeHtml, formatCount, formatEnergy, formatPercent, formatSignedPercent } from './format.js';
import { VirtualTable } from './virtual-table.js';

// The order a column sorts in when first clicked: big numbers first, names A to Z.
const SORTS = {
  energy: { title: 'energy', descending: true, value: (n) => n.energy },
  share: { title: 'share', descending: true, value: (n) => n.shareOfModel },
  flops: { title: 'FLOPs', descending: true, value: (n) => n.data.flops },
  name: { title: 'name', descending: false, value: (n) => n.path || '' },
  measured: { title: 'measured', descending: true, value: (n) => n.measuredEnergy },
  error: { title: 'error', descending: true, value: (n) => (n.errorPct == null ? null : Math.abs(n.errorPct)) },
};

export class NodeList {
  constructor(elements, { onActivate }) {
    this.elements = elements; // { table, search, kind, count }
    this.onActivate = onActivate;
    this.model = null;
    this.sortKey = 'energy';
    this.descending = true;
    this.visible = [];
    this.table = null;
    elements.search.addEventListener('input', () => this.refresh());
    elements.kind.addEventListener('change', () => this.refresh());
  }

  setModel(model) {
    this.model = model;
    // The columns depend only on whether there are measurements: rebuild when that changes.
    if (!this.table || this.withMeasured !== model.hasMeasured || this.unit !== model.unit) this.buildTable(model.hasMeasured, model);
    this.table.highlightKey = null;
    this.refresh();
  }

  // Measured columns appear only when the API returned measurements for this view.
  buildTable(withMeasured, model) {
    this.withMeasured = withMeasured;
    this.unit = model.unit; // a machine without an energy meter: each node's time
    const format = model.format;
    if (this.table) this.table.destroy();
    this.elements.table.replaceChildren();
    const columns = [
      {
        key: 'name', title: 'Node', sortKey: 'name', width: 'minmax(0, 1fr)',
        // The kind rides in front of the path, so the numbers keep their columns.
        html: (n) => `<span class="node-class">${escapeHtml(n.className)}</span>`
          + `<span class="node-path" title="${escapeHtml(n.path || '(root)')}"><span class="kind-badge kind-${n.group}">${escapeHtml(n.kind)}</span>`
          + `<span class="path-text">${escapeHtml(n.path || '(root)')}</span></span>`,
      },
      { key: 'energy', title: model.unit === 'time' ? 'Time' : 'Energy', sortKey: 'energy', width: '4.4rem', align: 'end', html: (n) => format(n.energy) },
      { key: 'share', title: 'Share', sortKey: 'share', width: '3.5rem', align: 'end', html: (n) => formatPercent(n.shareOfModel) },
      { key: 'flops', title: 'FLOPs', sortKey: 'flops', width: '3.9rem', align: 'end', html: (n) => formatCount(n.data.flops) },
    ];
    if (withMeasured) {
      columns.push(
        { key: 'measured', title: 'Measured', sortKey: 'measured', width: '4.6rem', align: 'end', html: (n) => formatEnergy(n.measuredEnergy) },
        { key: 'error', title: 'Error', sortKey: 'error', width: '3.6rem', align: 'end', html: (n) => errorHtml(n.errorPct) },
      );
    }
    this.table = new VirtualTable(this.elements.table, {
      columns,
      rowHeight: 38,
      rowKey: (n) => n.id,
      label: 'Node energies',
      emptyText: 'No node matches the filter.',
      onActivate: (n) => this.onActivate(n),
      onSort: (key) => this.sortBy(key),
    });
    this.table.setSort(this.sortKey, this.descending);
  }

  // Clicking the active column again flips its direction.
  sortBy(key) {
    if (!SORTS[key]) return;
    if (this.sortKey === key) this.descending = !this.descending;
    else {
      this.sortKey = key;
      this.descending = SORTS[key].descending;
    }
    this.table.setSort(this.sortKey, this.descending);
    this.refresh({ keepScroll: false });
  }

  refresh({ keepScroll = false } = {}) {
    if (!this.model) return;
    const text = this.elements.search.value.trim().toLowerCase();
    const kind = this.elements.kind.value;
    const matches = this.model.nodes.filter((n) => (kind === 'all' || n.group === kind)
      && (!text || n.path.toLowerCase().includes(text) || n.className.toLowerCase().includes(text)));
    const { value } = SORTS[this.sortKey];
    const direction = this.descending ? -1 : 1;
    // Nodes without the value (math nodes have no energy) stay at the end either way.
    matches.sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      if (va == null || vb == null) return (va == null) - (vb == null) || a.id - b.id;
      if (va < vb) return -direction;
      if (va > vb) return direction;
      return a.id - b.id;
    });
    this.visible = matches;
    this.table.setRows(matches, { keepScroll });
    this.elements.count.textContent = `${matches.length.toLocaleString('en-US')} of ${this.model.nodes.length.toLocaleString('en-US')} nodes`;
  }

  // Highlights a node's row; a node hidden by the filters is reported so the caller can say so.
  highlight(node) {
    return this.table ? this.table.highlight(node.id) : false;
  }

  clearFilters() {
    this.elements.search.value = '';
    this.elements.kind.value = 'all';
    this.refresh();
  }
}

function errorHtml(pct) {
  if (pct == null) return '—';
  const size = Math.abs(pct);
  const tone = size < 10 ? 'err-low' : size < 25 ? 'err-mid' : 'err-high';
  return `<span class="${tone}">${formatSignedPercent(pct)}</span>`;
}
