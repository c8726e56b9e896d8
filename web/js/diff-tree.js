// What if: the tree of differences (the answer's `tree`: every node with its energy per
// output token on side A and side B, null where the node is absent on that side, and
// B − A), drawn as an expandable list. Children come largest |B − A| first, as the server
// orders them; a node's change is coloured by its sign (green: B spends less) and drawn
// as a bar against the largest change in the tree. It opens along the largest change:
// the root, its largest child, that child's largest child, ..., down to `openDepth`.
// Nodes below the answer's `max_depth` are counted (children_omitted), not listed.

import { escapeHtml, formatEnergy, formatSignedPercent } from './format.js';

function signed(joules) {
  if (joules == null || !Number.isFinite(joules)) return '—';
  return `${joules > 0 ? '+' : ''}${formatEnergy(joules)}`;
}

function sideValue(joules) {
  return joules == null ? '<span class="text-body-secondary">absent</span>' : formatEnergy(joules);
}

function signClass(delta) {
  if (!delta) return 'delta-zero';
  return delta < 0 ? 'delta-down' : 'delta-up';
}

function largestChange(node) {
  let most = Math.abs(node.delta_j || 0);
  for (const child of node.children || []) most = Math.max(most, largestChange(child));
  return most;
}

export class DiffTree {
  // container: an element the list is drawn in; openDepth: levels opened along the largest change
  constructor(container, { openDepth = 3 } = {}) {
    this.container = container;
    this.openDepth = openDepth;
  }

  setTree(tree) {
    this.container.replaceChildren();
    if (!tree) return;
    this.scale = largestChange(tree) || 1;
    const header = document.createElement('div');
    header.className = 'diff-row diff-header';
    header.innerHTML = '<span>Node</span><span class="text-end">A</span><span class="text-end">B</span>'
      + '<span class="text-end">B − A</span><span class="text-end">Δ %</span><span>change</span>';
    const list = document.createElement('ul');
    list.className = 'diff-tree list-unstyled mb-0';
    list.setAttribute('role', 'tree');
    list.setAttribute('aria-label', 'Differences node by node, largest change first');
    list.appendChild(this.item(tree, 0, true));
    const box = document.createElement('div');
    box.className = 'diff-box';
    box.append(header, list);
    this.container.appendChild(box);
  }

  // One node: its row, and its children's list when open (built when first opened).
  item(node, depth, onLargestPath) {
    const li = document.createElement('li');
    li.className = 'diff-node';
    li.setAttribute('role', 'treeitem');
    li.dataset.path = node.path;
    li.dataset.class = node.class;
    li.dataset.delta = String(node.delta_j ?? 0);
    const children = node.children || [];
    const row = document.createElement('div');
    row.className = 'diff-row';
    row.style.setProperty('--depth', depth);
    // A numbered node reads with its list's name: "layers.3", not "3".
    const segments = node.path ? node.path.split('.') : [];
    const name = !segments.length ? '(root)'
      : /^\d+$/.test(segments[segments.length - 1]) && segments.length > 1 ? segments.slice(-2).join('.') : segments[segments.length - 1];
    const pct = node.a_j && node.b_j != null ? formatSignedPercent((100 * node.delta_j) / node.a_j) : '—';
    const width = Math.min(100, (100 * Math.abs(node.delta_j || 0)) / this.scale);
    const omitted = node.children_omitted
      ? ` <span class="tiny text-body-secondary" title="Below the answer's max_depth">+${node.children_omitted} below, not in this answer</span>` : '';
    row.innerHTML = `<span class="diff-name" title="${escapeHtml(node.path || '(root)')} (${escapeHtml(node.class)})"><span class="diff-toggle-cell"></span><strong>${escapeHtml(name)}</strong>`
      + ` <span class="text-body-secondary">${escapeHtml(node.class)}</span>${omitted}</span>`
      + `<span class="text-end">${sideValue(node.a_j)}</span><span class="text-end">${sideValue(node.b_j)}</span>`
      + `<span class="text-end diff-delta ${signClass(node.delta_j)}">${signed(node.delta_j)}</span>`
      + `<span class="text-end ${signClass(node.delta_j)}">${pct}</span>`
      + `<span class="diff-bar-cell"><span class="diff-bar ${signClass(node.delta_j)}" style="width: ${width.toFixed(1)}%"></span></span>`;
    li.appendChild(row);
    if (!children.length) return li;

    const toggle = document.createElement('button');
    toggle.type = 'button';
    toggle.className = 'btn btn-link btn-sm p-0 diff-toggle';
    row.querySelector('.diff-toggle-cell').appendChild(toggle);
    let group = null;
    const setOpen = (open) => {
      if (open && !group) {
        group = document.createElement('ul');
        group.className = 'list-unstyled mb-0';
        group.setAttribute('role', 'group');
        // The first child is the largest change: the way on down when opening along it.
        children.forEach((child, i) => group.appendChild(this.item(child, depth + 1, onLargestPath && i === 0)));
        li.appendChild(group);
      }
      if (group) group.hidden = !open;
      li.setAttribute('aria-expanded', String(open));
      toggle.textContent = open ? '▾' : '▸';
      toggle.setAttribute('aria-label', `${open ? 'Close' : 'Open'} ${node.path || 'the root'} (${children.length} children)`);
    };
    toggle.addEventListener('click', () => setOpen(li.getAttribute('aria-expanded') !== 'true'));
    setOpen(onLargestPath && depth < this.openDepth);
    return li;
  }
}
