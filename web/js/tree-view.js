// The vertical collapsible tree (root at the top). It opens on where the energy goes: the
// path down to the costliest layer expanded, that layer's children in view. Only expanded
// nodes are laid out and drawn, so a 3,000-node model costs what its visible part costs;
// "Expand all" draws everything and drops animations and, when zoomed out, the labels.

import { shareColor } from './energy-color.js';
import { formatMillijoules } from './format.js';
import { ancestors, fullName } from './tree-model.js';

const d3 = window.d3;

const NODE_WIDTH = 128; // horizontal room per leaf: the node and its label to the right
const LEVEL_HEIGHT = 86; // vertical room per depth: three label lines and the links
const RADIUS = 7;
const LABEL_CHARS = 17;
const ANIMATE_BELOW = 400; // nodes; larger renders are instant
const LABELS_FROM_SCALE = 0.45; // below this zoom, labels are hidden (unreadable and slow)
const MIN_AUTO_SCALE = 0.8; // opening a node never zooms out further than this by itself

export class TreeView {
  // `loadChildren(node)`: resolves once the children an answer left out (node.omitted)
  // are grafted into the model; the node then opens.
  constructor(container, { tooltip, onSelect, onRender, loadChildren = null }) {
    this.loadChildren = loadChildren;
    this.loading = new Set();
    this.container = container;
    this.tooltip = tooltip;
    this.onSelect = onSelect;
    this.onRender = onRender;
    this.model = null;
    this.expanded = new Set();
    this.selectedId = null;
    this.positions = new Map();
    this.showMath = true;

    this.svg = d3.select(container).append('svg')
      .attr('class', 'tree-svg')
      .attr('role', 'tree')
      .attr('aria-label', 'Model tree: Enter or Space opens a node, arrow keys move between nodes');
    this.canvas = this.svg.append('g');
    this.linkLayer = this.canvas.append('g').attr('class', 'tree-links');
    this.nodeLayer = this.canvas.append('g').attr('class', 'tree-nodes');
    this.zoom = d3.zoom().scaleExtent([0.02, 3])
      .filter((event) => !event.button && event.type !== 'dblclick')
      .on('zoom', (event) => {
        this.canvas.attr('transform', event.transform);
        this.svg.classed('labels-hidden', event.transform.k < LABELS_FROM_SCALE);
      });
    this.svg.call(this.zoom);
  }

  // `open`: the node whose children the first view shows (the costliest layer): it and its
  // ancestors start expanded, and Reset returns to this view. Without one, the root alone.
  setModel(model, { open = null } = {}) {
    this.model = model;
    this.opening = open;
    this.selectedId = null;
    this.positions = new Map();
    this.showOpening({ animate: false });
  }

  showOpening({ animate }) {
    const open = this.opening;
    this.expanded = new Set(open ? [open, ...ancestors(open)].filter((n) => n.children.length).map((n) => n.id) : []);
    this.render({ animate: false });
    if (!(open && this.expanded.has(open.id) && this.frame(open, { animate }))) {
      this.centerOn(this.model.root, { animate, topThird: false, scale: animate ? 1 : undefined });
    }
  }

  // Pans and zooms so that the row of `node`'s children is centred and above the bottom
  // edge, the levels above it down from the top where they fit, no closer than 1:1 and
  // no farther than labels stay readable. False when `node` has no children drawn.
  frame(node, { animate }) {
    const xs = this.visibleChildren(node).map((child) => this.positions.get(child.id)).filter(Boolean).map((p) => p.x);
    const position = this.positions.get(node.id);
    if (!xs.length || !position) return false;
    const { width, height } = this.viewport();
    const left = Math.min(...xs) - 20;
    const right = Math.max(...xs) + NODE_WIDTH;
    const bottom = position.y + LEVEL_HEIGHT + 60;
    const k = Math.max(LABELS_FROM_SCALE + 0.05, Math.min(1, width / (right - left), (height - 40) / bottom));
    const ty = Math.min(40, height - 20 - k * bottom);
    const transform = d3.zoomIdentity.translate(width / 2 - k * ((left + right) / 2), ty).scale(k);
    const target = animate ? this.svg.transition().duration(400) : this.svg;
    target.call(this.zoom.transform, transform);
    return true;
  }

  // Math ops are two thirds of a tree's nodes and carry no energy of their own; hiding
  // them leaves the nodes that energy is predicted for.
  setShowMath(show) {
    if (this.showMath === show) return;
    this.showMath = show;
    if (!this.model) return;
    const selected = this.selectedId != null ? this.model.byId.get(this.selectedId) : null;
    if (selected && selected.kind === 'math' && !show) this.selectedId = selected.parent.id;
    this.renderAnchored(this.model.root);
  }

  visibleChildren(node) {
    return this.showMath ? node.children : node.children.filter((child) => child.kind !== 'math');
  }

  // Opens or closes a node, keeping it where it was on screen so the eye need not search.
  toggle(node) {
    if (!this.visibleChildren(node).length) {
      if (node.omitted && this.loadChildren) this.openOnDemand(node);
      return;
    }
    if (this.expanded.has(node.id)) {
      this.collapseBelow(node);
      this.renderAnchored(node);
    } else {
      this.expanded.add(node.id);
      this.renderAnchored(node);
      this.showChildren(node);
    }
  }

  // After opening a node, pans (and zooms out down to a readable scale) so that its row of
  // children is in view: a wide row would otherwise open mostly off screen.
  showChildren(node) {
    const xs = this.visibleChildren(node).map((child) => this.positions.get(child.id)).filter(Boolean).map((p) => p.x);
    const parent = this.positions.get(node.id);
    if (!xs.length || !parent) return;
    const transform = d3.zoomTransform(this.svg.node());
    const { width, height } = this.viewport();
    const left = Math.min(...xs) - 20;
    const right = Math.max(...xs) + NODE_WIDTH;
    const [sLeft] = transform.apply([left, 0]);
    const [sRight] = transform.apply([right, 0]);
    const [, sBottom] = transform.apply([0, parent.y + LEVEL_HEIGHT + 40]);
    if (sLeft >= 0 && sRight <= width && sBottom <= height) return;
    const k = Math.min(transform.k, Math.max(MIN_AUTO_SCALE, width / (right - left)));
    const centerX = (right - left) * k <= width ? (left + right) / 2 : parent.x;
    // The parent sits one level below the top, so the way back up stays in view.
    const parentY = Math.min(height / 3, 40 + (node.parent ? LEVEL_HEIGHT * k : 0));
    const next = d3.zoomIdentity.translate(width / 2 - k * centerX, parentY - k * parent.y).scale(k);
    this.svg.transition().duration(350).call(this.zoom.transform, next);
  }

  async openOnDemand(node) {
    if (this.loading.has(node.id)) return;
    this.loading.add(node.id);
    this.renderAnchored(node);
    try {
      await this.loadChildren(node);
    } finally {
      this.loading.delete(node.id);
    }
    if (!this.model.byId.has(node.id) || this.model.byId.get(node.id) !== node) return; // another answer came
    if (this.visibleChildren(node).length) this.expanded.add(node.id);
    this.renderAnchored(node);
    this.showChildren(node);
  }

  collapseBelow(node) {
    const stack = [node];
    while (stack.length) {
      const current = stack.pop();
      this.expanded.delete(current.id);
      stack.push(...current.children);
    }
  }

  expandAll() {
    if (!this.model) return;
    for (const node of this.model.nodes) if (this.visibleChildren(node).length) this.expanded.add(node.id);
    this.renderAnchored(this.model.root);
  }

  // Back to the first view: the costliest layer's children, or the root alone.
  reset() {
    if (!this.model) return;
    this.selectedId = null;
    this.showOpening({ animate: true });
  }

  // Opens every ancestor of a node, draws it, pans to it and marks it selected.
  reveal(node) {
    if (node.kind === 'math') this.showMath = true;
    for (const up of ancestors(node)) this.expanded.add(up.id);
    this.selectedId = node.id;
    this.render({ animate: false });
    this.centerOn(node, { animate: true, topThird: true });
  }

  highlight(node) {
    this.selectedId = node ? node.id : null;
    this.nodeLayer.selectAll('g.tree-node')
      .classed('selected', (d) => d.data.id === this.selectedId)
      .attr('aria-selected', (d) => String(d.data.id === this.selectedId));
  }

  fit() {
    if (!this.lastBounds) return;
    const { width, height } = this.viewport();
    const b = this.lastBounds;
    const scale = Math.min(2, Math.max(0.02, Math.min(width / (b.width + 40), height / (b.height + 40))));
    const transform = d3.zoomIdentity
      .translate(width / 2 - scale * (b.x + b.width / 2), 20 - scale * b.y + 10);
    this.svg.transition().duration(400).call(this.zoom.transform, transform.scale(scale));
  }

  viewport() {
    const box = this.container.getBoundingClientRect();
    return { width: box.width || 800, height: box.height || 500 };
  }

  renderAnchored(anchorNode) {
    const before = this.positions.get(anchorNode.id);
    const transform = d3.zoomTransform(this.svg.node());
    this.render({ animate: true });
    const after = this.positions.get(anchorNode.id);
    if (before && after) {
      const shifted = transform.translate(before.x - after.x, before.y - after.y);
      this.svg.call(this.zoom.transform, shifted);
    }
  }

  centerOn(node, { animate, topThird, scale }) {
    const position = this.positions.get(node.id);
    if (!position) return;
    const { width, height } = this.viewport();
    const k = scale ?? Math.max(d3.zoomTransform(this.svg.node()).k, 0.8);
    const targetY = topThird ? height / 3 : 40;
    const transform = d3.zoomIdentity.translate(width / 2 - k * position.x, targetY - k * position.y).scale(k);
    const target = animate ? this.svg.transition().duration(450) : this.svg;
    target.call(this.zoom.transform, transform);
  }

  render({ animate }) {
    if (!this.model) return;
    const hierarchy = d3.hierarchy(this.model.root,
      (node) => {
        if (!this.expanded.has(node.id)) return null;
        const children = this.visibleChildren(node);
        return children.length ? children : null;
      });
    d3.tree().nodeSize([NODE_WIDTH, LEVEL_HEIGHT])
      .separation((a, b) => (a.parent === b.parent ? 1 : 1.15))(hierarchy);
    const nodes = hierarchy.descendants();
    const links = hierarchy.links();
    const smooth = animate && nodes.length < ANIMATE_BELOW;
    const duration = smooth ? 280 : 0;
    const previous = this.positions;
    const startOf = (d) => {
      for (let up = d.parent; up; up = up.parent) {
        const p = previous.get(up.data.id);
        if (p) return p;
      }
      return { x: d.x, y: d.y };
    };

    const link = d3.linkVertical().x((p) => p.x).y((p) => p.y);
    this.linkLayer.selectAll('path').data(links, (d) => d.target.data.id)
      .join(
        (enter) => enter.append('path').attr('d', (d) => {
          const s = startOf(d.target);
          return link({ source: s, target: s });
        }),
        (update) => update,
        (exit) => exit.remove(),
      )
      .transition().duration(duration)
      .attr('d', (d) => link({ source: d.source, target: d.target }));

    const self = this;
    this.nodeLayer.selectAll('g.tree-node').data(nodes, (d) => d.data.id)
      .join(
        (enter) => {
          const g = enter.append('g')
            .attr('class', 'tree-node')
            .attr('tabindex', 0)
            .attr('role', 'treeitem')
            .attr('data-path', (d) => d.data.path)
            .attr('data-class', (d) => d.data.className)
            .attr('transform', (d) => {
              const s = startOf(d);
              return `translate(${s.x},${s.y})`;
            });
          // A transparent box under circle and labels: the whole label is a click target.
          g.append('rect').attr('class', 'hit-area')
            .attr('x', -RADIUS - 3).attr('y', -17).attr('width', NODE_WIDTH - 16).attr('height', 46);
          g.append('circle').attr('r', RADIUS);
          g.append('text').attr('class', 'label-name').attr('x', RADIUS + 4).attr('dy', '-0.25em');
          g.append('text').attr('class', 'label-class').attr('x', RADIUS + 4).attr('dy', '0.95em');
          g.append('text').attr('class', 'label-energy').attr('x', RADIUS + 4).attr('dy', '2.15em');
          g.append('text').attr('class', 'label-more').attr('text-anchor', 'middle').attr('dy', RADIUS + 13);
          g.on('click', (event, d) => self.activate(d.data))
            .on('keydown', (event, d) => self.onKey(event, d.data))
            .on('pointerenter', (event, d) => self.tooltip.show(d.data, event.clientX, event.clientY))
            .on('pointermove', (event) => self.tooltip.moveTo(event.clientX, event.clientY))
            .on('pointerleave', () => self.tooltip.hide())
            .on('focus', function onFocus(event, d) { self.tooltip.showBeside(d.data, this); })
            .on('blur', () => self.tooltip.hide());
          return g;
        },
        (update) => update,
        (exit) => exit.remove(),
      )
      .call((g) => this.decorate(g))
      .transition().duration(duration)
      .attr('transform', (d) => `translate(${d.x},${d.y})`);

    this.positions = new Map(nodes.map((d) => [d.data.id, { x: d.x, y: d.y }]));
    const [minX, maxX] = d3.extent(nodes, (d) => d.x);
    const maxY = d3.max(nodes, (d) => d.y);
    this.lastBounds = { x: minX, y: 0, width: maxX - minX + NODE_WIDTH, height: maxY + LEVEL_HEIGHT };
    this.svg.attr('data-visible-nodes', nodes.length);
    if (this.onRender) this.onRender(nodes.length, this.model.nodes.length);
  }

  decorate(selection) {
    const expanded = this.expanded;
    const childCount = (d) => this.visibleChildren(d.data).length || d.data.omitted;
    selection
      .classed('collapsed', (d) => childCount(d) > 0 && !expanded.has(d.data.id))
      .classed('selected', (d) => d.data.id === this.selectedId)
      .classed('no-energy', (d) => d.data.energy == null)
      .attr('aria-level', (d) => d.data.depth + 1)
      .attr('aria-selected', (d) => String(d.data.id === this.selectedId))
      .attr('aria-expanded', (d) => (childCount(d) ? String(expanded.has(d.data.id)) : null))
      .attr('aria-label', (d) => `${fullName(d.data)}, ${d.data.energy == null ? `no ${this.model.unit} of its own`
        : this.model.unit === 'time' ? this.model.format(d.data.energy) : formatMillijoules(d.data.energy)}`);
    selection.select('circle').attr('fill', (d) => shareColor(d.data.shareOfModel));
    selection.select('.label-name').text((d) => truncate(d.data.label));
    selection.select('.label-class').text((d) => (d.data.path ? truncate(d.data.className) : ''));
    selection.select('.label-energy').text((d) => (d.data.energy != null ? this.model.format(d.data.energy) : ''));
    selection.select('.label-more')
      .text((d) => {
        if (this.loading.has(d.data.id)) return 'loading…';
        return childCount(d) && !expanded.has(d.data.id) ? `+${childCount(d)}` : '';
      });
    selection.classed('on-demand', (d) => d.data.omitted > 0);
  }

  activate(node) {
    this.toggle(node);
    this.highlight(node);
    this.onSelect(node);
  }

  // Enter/Space open and select; arrows walk the visible tree (down = first child,
  // up = parent, left/right = siblings), opening a closed node on the way down.
  onKey(event, node) {
    let target = null;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this.activate(node);
      this.focusNode(node);
      return;
    }
    if (event.key === 'ArrowDown' && this.visibleChildren(node).length) {
      if (!this.expanded.has(node.id)) this.toggle(node);
      [target] = this.visibleChildren(node);
    } else if (event.key === 'ArrowUp') {
      target = node.parent;
    } else if ((event.key === 'ArrowLeft' || event.key === 'ArrowRight') && node.parent) {
      const siblings = this.visibleChildren(node.parent);
      const index = siblings.indexOf(node) + (event.key === 'ArrowRight' ? 1 : -1);
      target = siblings[index] || null;
    }
    if (!target) return;
    event.preventDefault();
    this.focusNode(target);
    this.keepInView(target);
  }

  focusNode(node) {
    const element = this.nodeLayer.selectAll('g.tree-node').filter((d) => d.data.id === node.id).node();
    if (element) element.focus({ preventScroll: true });
  }

  // Pans only when the node left the visible area, so keyboard walking is not jumpy.
  keepInView(node) {
    const p = this.positions.get(node.id);
    if (!p) return;
    const t = d3.zoomTransform(this.svg.node());
    const [sx, sy] = t.apply([p.x, p.y]);
    const { width, height } = this.viewport();
    if (sx < 40 || sx > width - 140 || sy < 30 || sy > height - 60) {
      this.centerOn(node, { animate: true, topThird: true });
    }
  }
}

function truncate(text) {
  return text.length > LABEL_CHARS ? `${text.slice(0, LABEL_CHARS - 1)}…` : text;
}
