// Downloads made in the browser: the current tree as JSON and the node list as CSV.

export function downloadText(filename, mimeType, text) {
  const url = URL.createObjectURL(new Blob([text], { type: mimeType }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Revoke later: revoking at once can cancel the download in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// "irene-gpt2-b8-s128-pc1": names a file after its configuration ('/' is not allowed).
export function baseName(selection) {
  const model = String(selection.model).replace(/[^A-Za-z0-9._-]+/g, '_');
  return `irene-${model}-b${selection.batch_size}-s${selection.seq_len}${selection.machine ? `-${selection.machine}` : ''}`;
}

// The answer as the server gave it, with shares filled in where the server left them out.
export function treeJson(model) {
  const withShares = (node) => {
    const { children, ...fields } = node.data;
    if (fields.share_of_model == null && node.shareOfModel != null) fields.share_of_model = node.shareOfModel;
    if (fields.share_of_parent == null && node.shareOfParent != null) fields.share_of_parent = node.shareOfParent;
    return { ...fields, children: node.children.map(withShares) };
  };
  const tree = { ...model.tree, root: withShares(model.root) };
  const document = model.answer.tree ? { ...model.answer, tree } : tree;
  return `${JSON.stringify(document, null, 1)}\n`;
}

const CSV_COLUMNS = [
  ['path', (n) => n.path],
  ['class', (n) => n.className],
  ['kind', (n) => n.kind],
  ['depth', (n) => n.depth],
  ['energy_j', (n) => n.energy],
  ['share_of_parent', (n) => n.shareOfParent],
  ['share_of_model', (n) => n.shareOfModel],
  ['measured_energy_j', (n) => n.measuredEnergy],
  ['error_pct', (n) => n.errorPct],
  ['flops', (n) => n.data.flops],
  ['mem_bytes', (n) => n.data.mem_bytes],
  ['num_parameters', (n) => n.data.num_parameters],
  ['latency_s', (n) => n.data.latency_s],
];

// The rows as the list shows them (filtered and sorted); empty cells for missing values.
export function nodesCsv(nodes) {
  const lines = [CSV_COLUMNS.map(([name]) => name).join(',')];
  for (const node of nodes) lines.push(CSV_COLUMNS.map(([, value]) => csvCell(value(node))).join(','));
  return `${lines.join('\n')}\n`;
}

function csvCell(value) {
  if (value == null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
