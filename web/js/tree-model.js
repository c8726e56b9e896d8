// Turns an /api/energy answer into the node objects every view shares: each node knows
// its parent, a stable id, and its shares of parent and model energy (computed here when
// the server left them out, so the UI copes with plain tree documents too). A machine
// without an energy meter answers every node's predicted time instead (total_energy_j
// null, total_latency_s set): the nodes' value is then their time, model.unit says so and
// model.format writes it.

import { formatEnergy, formatSeconds } from './format.js';

export const KIND_GROUPS = {
  model: 'module',
  module: 'module',
  ml: 'ml',
  'ml-np': 'ml',
  math: 'math',
  generation: 'module',
  phase: 'module',
};

export function kindGroup(kind) {
  return KIND_GROUPS[kind] || 'module';
}

// Accepts either the /api/energy envelope or a bare tree document.
export function buildModel(answer) {
  const tree = answer.tree || answer;
  if (!tree || !tree.root) throw new Error('The answer holds no tree (no "root" node).');
  const unit = answer.total_energy_j === null && Number.isFinite(answer.total_latency_s) ? 'time' : 'energy';
  const nodes = [];
  const root = wrap(tree.root, null, nodes, 0, unit);
  const rootEnergy = root.energy;
  for (const node of nodes) {
    const raw = node.data;
    node.shareOfModel = pickShare(raw.share_of_model, node.energy, rootEnergy);
    node.shareOfParent = node.parent
      ? pickShare(raw.share_of_parent, node.energy, node.parent.energy)
      : (node.energy != null ? 1 : null);
  }
  const total = unit === 'time' ? answer.total_latency_s : answer.total_energy_j;
  const totalEnergy = Number.isFinite(total) ? total : rootEnergy;
  const measuredTotal = root.measuredEnergy;
  return {
    answer,
    tree,
    unit,
    format: unit === 'time' ? formatSeconds : formatEnergy,
    root,
    nodes,
    byId: new Map(nodes.map((node) => [node.id, node])),
    totalEnergy,
    measuredTotal,
    hasMeasured: nodes.some((node) => node.measuredEnergy != null),
    selection: {
      model: answer.model ?? tree.model,
      batch_size: answer.batch_size ?? tree.batch_size,
      seq_len: answer.seq_len ?? tree.seq_len,
      machine: answer.machine ?? null,
      new_tokens: answer.new_tokens ? String(answer.new_tokens) : '',
    },
  };
}

function wrap(raw, parent, nodes, firstId = 0, unit = 'energy') {
  const node = {
    id: firstId + nodes.length,
    data: raw,
    parent,
    depth: raw.depth ?? (parent ? parent.depth + 1 : 0),
    kind: raw.kind,
    group: kindGroup(raw.kind),
    path: raw.path ?? '',
    className: raw.class ?? '',
    energy: finiteOrNull(unit === 'time' ? raw.predicted_latency_s : raw.energy_j), // the node's value
    measuredEnergy: raw.measured ? finiteOrNull(raw.measured.energy_j) : null,
    extrapolated: raw.extrapolated === true,
    index: raw.index ?? null, // the node's index in the server's tree: ask for its subtree with it
    omitted: raw.children_omitted || 0, // children the answer left out (loaded on demand)
    children: [],
  };
  node.key = joinKey(node.path, node.className);
  node.label = nodeLabel(node);
  node.errorPct = node.energy != null && node.measuredEnergy
    ? ((node.energy - node.measuredEnergy) / node.measuredEnergy) * 100
    : null;
  nodes.push(node);
  for (const child of raw.children || []) node.children.push(wrap(child, node, nodes, firstId, unit));
  return node;
}

// Adds the children of `subtreeRoot` (an answer rooted at `node`, from ?root=node.index)
// below `node`, with their shares; returns the new nodes. Ids stay unique and stable.
export function graftChildren(model, node, subtreeRoot) {
  const added = [];
  for (const child of subtreeRoot.children || []) node.children.push(wrap(child, node, added, model.nodes.length, model.unit));
  const rootEnergy = model.root.energy;
  for (const n of added) {
    n.shareOfModel = pickShare(n.data.share_of_model, n.energy, rootEnergy);
    n.shareOfParent = pickShare(n.data.share_of_parent, n.energy, n.parent.energy);
    model.nodes.push(n);
    model.byId.set(n.id, n);
  }
  node.data.children = subtreeRoot.children || [];
  node.omitted = 0;
  return added;
}

// Nodes the answers so far left out, below every loaded node.
export function omittedCount(model) {
  return model.nodes.reduce((sum, n) => sum + n.omitted, 0);
}

function finiteOrNull(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function pickShare(given, energy, reference) {
  if (typeof given === 'number' && Number.isFinite(given)) return given;
  if (energy == null || !reference) return null;
  return energy / reference;
}

// Nodes of two trees are the same node when path and class agree (docs: the join key).
export function joinKey(path, className) {
  return `${path}\u0000${className}`;
}

// The short name drawn in the tree: the last path segment, or the model's name at the root.
export function nodeLabel(node) {
  if (!node.path) return node.className || 'model';
  const last = node.path.split('.').pop();
  return last;
}

// "encoder.layer.0.attention (BertAttention)": the full name tooltips and tables use.
export function fullName(node) {
  return node.path ? `${node.path} (${node.className})` : `(root) ${node.className}`;
}

export function ancestors(node) {
  const chain = [];
  for (let up = node.parent; up; up = up.parent) chain.push(up);
  return chain;
}

// Energy per operation type. ML and MatMul/Softmax nodes never nest, so their energies
// plus every parent's remainder add up to the model's total without double counting.
export function aggregateByClass(model, level = 'ml') {
  const groups = new Map();
  let remainder = 0;
  for (const node of model.nodes) {
    if (level === 'ml' && node.group === 'ml' && node.energy != null) add(groups, node);
    if (level === 'module' && node.kind === 'module' && node.energy != null) add(groups, node);
    if (node.data.energy_remainder_j > 0) remainder += node.data.energy_remainder_j;
  }
  const rows = [...groups.values()].sort((a, b) => b.energy - a.energy);
  if (level === 'ml' && remainder > 0) {
    rows.push({ className: 'other ops (remainders)', energy: remainder, count: null, remainder: true });
  }
  for (const row of rows) row.share = model.totalEnergy ? row.energy / model.totalEnergy : null;
  return rows;
}

function add(groups, node) {
  const row = groups.get(node.className) || { className: node.className, energy: 0, count: 0, measured: 0, measuredCount: 0 };
  row.energy += node.energy;
  row.count += 1;
  if (node.measuredEnergy != null) {
    row.measured += node.measuredEnergy;
    row.measuredCount += 1;
  }
  groups.set(node.className, row);
}

// ---- the first view: where the energy goes ----

const NUMBERED = /^\d+$/;

function numbered(node) {
  return node.path !== '' && NUMBERED.test(node.path.split('.').pop());
}

// The costliest layer: among the modules whose path ends in a number and whose parent has
// other numbered children (model.layers.N, encoder.layer.N, h.N), those of the shallowest
// such level (a generation has one per phase; experts.N lie deeper), the one with the
// most energy (the first of equals). Null when no such level is loaded.
export function costliestLayer(model) {
  let best = null;
  for (const node of model.nodes) {
    if (node.kind !== 'module' || !node.parent || !numbered(node)) continue;
    if (node.parent.children.filter(numbered).length < 2) continue;
    if (!best || node.depth < best.depth || (node.depth === best.depth && (node.energy ?? -1) > (best.energy ?? -1))) best = node;
  }
  return best;
}

// Where to load next when no numbered level is loaded yet: down from the root through the
// costliest child to the first node whose children the answer left out (null if none).
export function costliestOmitted(model) {
  let node = model.root;
  while (node.children.length) {
    node = node.children.reduce((a, b) => ((b.energy ?? -1) > (a.energy ?? -1) ? b : a));
  }
  return node.omitted > 0 ? node : null;
}
