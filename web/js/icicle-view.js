// The icicle: the same tree, root on top, each node as wide as its energy. Math nodes have
// no energy of their own, so they are left out; a gap under a parent is its remainder.
// Clicking a cell zooms into it (and selects it); clicking the top cell zooms back out.

import { shareColor, textColorOn } from './energy-color.js';
import { fullName } from './tree-model.js';

const d3 = window.d3;
const ROW_HEIGHT = 54;
const MIN_DRAWN_WIDTH = 0.5; // px; thinner cells are invisible anyway and only cost time

export class IcicleView {
  constructor(container, { tooltip, onSelect }) {
    this.container = container;
    this.tooltip = tooltip;
    this.onSelect = onSelect;
    this.partition = null;
    this.focus = null;
    this.selectedId = null;
  }

  setModel(model) {
    this.model = model; // its unit and format: energy, or time where the machine has no meter
    const hierarchy = d3.hierarchy(model.root,
      (node) => node.children.filter((child) => child.energy != null && child.energy > 0));
    // Each node's width is its own energy (not the sum of its children, which leaves out
    // the remainder); a parent is never drawn narrower than its children together.
    hierarchy.eachAfter((d) => {
      const ownEnergy = d.data.energy || 0;
      const childSum = d3.sum(d.children || [], (c) => c.value);
      d.value = Math.max(ownEnergy, childSum);
    });
    this.partition = d3.partition().size([1, hierarchy.height + 1])(hierarchy);
    this.focus = this.partition;
    this.render();
  }

  // When a node is picked elsewhere, zoom to its closest drawn ancestor (itself if drawn).
  showNode(node) {
    if (!this.partition) return;
    this.selectedId = node.id;
    let target = null;
    for (let up = node; up && !target; up = up.parent) {
      target = this.partition.find((d) => d.data === up);
    }
    if (target && !this.isInside(target, this.focus)) this.focus = target.parent || target;
    this.render();
  }

  isInside(d, ancestor) {
    for (let up = d; up; up = up.parent) if (up === ancestor) return true;
    return false;
  }

  zoomTo(d) {
    this.focus = d === this.focus && d.parent ? d.parent : d;
    this.selectedId = d.data.id;
    this.render();
    this.onSelect(d.data);
  }

  render() {
    if (!this.partition) return;
    const width = Math.max(480, this.container.clientWidth || 800);
    const focus = this.focus;
    const x = d3.scaleLinear().domain([focus.x0, focus.x1]).range([0, width]);
    const levels = this.partition.height - focus.depth + 1;
    const height = levels * ROW_HEIGHT;
    const visible = focus.descendants().filter((d) => x(d.x1) - x(d.x0) >= MIN_DRAWN_WIDTH);
    const cellY = (d) => (d.depth - focus.depth) * ROW_HEIGHT;

    this.container.replaceChildren();
    const svg = d3.select(this.container).append('svg')
      .attr('class', 'icicle-svg').attr('width', width).attr('height', height)
      .attr('role', 'group').attr('aria-label', 'Icicle of the model tree, widths proportional to energy');
    const self = this;
    const cell = svg.selectAll('g').data(visible).join('g')
      .attr('class', 'icicle-cell')
      .classed('selected', (d) => d.data.id === this.selectedId)
      .attr('data-path', (d) => d.data.path)
      .attr('data-class', (d) => d.data.className)
      .attr('transform', (d) => `translate(${x(d.x0)},${cellY(d)})`)
      .attr('tabindex', 0)
      .attr('role', 'button')
      .attr('aria-label', (d) => `${fullName(d.data)}, ${this.model.format(d.data.energy)}`)
      .on('click', (event, d) => this.zoomTo(d))
      .on('keydown', (event, d) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          this.zoomTo(d);
        }
      })
      .on('pointerenter', (event, d) => this.tooltip.show(d.data, event.clientX, event.clientY))
      .on('pointermove', (event) => this.tooltip.moveTo(event.clientX, event.clientY))
      .on('pointerleave', () => this.tooltip.hide())
      .on('focus', function onFocus(event, d) { self.tooltip.showBeside(d.data, this); })
      .on('blur', () => this.tooltip.hide());

    cell.append('rect')
      .attr('width', (d) => Math.max(0, x(d.x1) - x(d.x0) - 1))
      .attr('height', ROW_HEIGHT - 1)
      .attr('fill', (d) => shareColor(d.data.shareOfModel));

    const labelled = cell.filter((d) => x(d.x1) - x(d.x0) > 46);
    const fits = (d, text) => fitText(text, x(d.x1) - x(d.x0) - 8);
    labelled.append('text').attr('x', 4).attr('y', 18)
      .attr('fill', (d) => textColorOn(d.data.shareOfModel))
      .attr('class', 'icicle-name')
      .text((d) => fits(d, d.data.path ? `${d.data.label} · ${d.data.className}` : d.data.className));
    labelled.append('text').attr('x', 4).attr('y', 36)
      .attr('fill', (d) => textColorOn(d.data.shareOfModel))
      .attr('class', 'icicle-energy')
      .text((d) => fits(d, this.model.format(d.data.energy)));
  }
}

// Cuts a label to what fits in a width, at ~6.5 px per character of the 11 px font.
function fitText(text, width) {
  const chars = Math.floor(width / 6.5);
  if (chars <= 1) return '';
  return text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
}
