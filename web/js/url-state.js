// The selection lives in the URL under the API's own parameter names
// (/?model=gpt2&batch_size=8&seq_len=128&machine=pc1), so a link reopens the same view.
// Beside it, what the view shows: the open tab (view=compare), the comparison's B side
// once compared (b_model, b_batch_size, b_seq_len, b_machine) and the sweep's settings
// once swept (sweep_batches=1,8,32&sweep_step=64).

// new_tokens and dtype: decoder LLMs only (a generation tree; the element type).
const FIELDS = ['model', 'batch_size', 'seq_len', 'machine', 'new_tokens', 'dtype'];
const COMPARE_FIELDS = FIELDS.map((f) => `b_${f}`);
const VIEW_KEYS = ['view', ...COMPARE_FIELDS, 'sweep_batches', 'sweep_step'];

export function readSelection(search = window.location.search) {
  const params = new URLSearchParams(search);
  if (!params.get('model')) return null;
  const selection = {};
  for (const field of FIELDS) selection[field] = params.get(field) ?? '';
  return selection;
}

// { tab, compareB: selection or null, sweep: { batches, step } or null }
export function readView(search = window.location.search) {
  const params = new URLSearchParams(search);
  const view = { tab: params.get('view') || 'tree', compareB: null, sweep: null };
  if (params.get('b_model')) {
    view.compareB = {};
    for (const field of FIELDS) view.compareB[field] = params.get(`b_${field}`) ?? '';
  }
  const batches = (params.get('sweep_batches') || '').split(',').map(Number).filter((b) => Number.isInteger(b) && b > 0);
  if (batches.length) view.sweep = { batches, step: Number(params.get('sweep_step')) || 64 };
  return view;
}

function viewParams(params, view) {
  for (const key of VIEW_KEYS) params.delete(key);
  if (!view) return;
  if (view.tab && view.tab !== 'tree') params.set('view', view.tab);
  if (view.compareB) {
    for (const field of FIELDS) {
      if (view.compareB[field] != null && view.compareB[field] !== '') params.set(`b_${field}`, view.compareB[field]);
    }
  }
  if (view.sweep) {
    params.set('sweep_batches', view.sweep.batches.join(','));
    params.set('sweep_step', String(view.sweep.step));
  }
}

export function selectionUrl(selection, view = null) {
  const params = new URLSearchParams();
  for (const field of FIELDS) {
    if (selection[field] != null && selection[field] !== '') params.set(field, selection[field]);
  }
  viewParams(params, view);
  return `${window.location.pathname}?${params}`;
}

// A new entry when the selection changed (Back returns to the previous view); the same
// entry is replaced when it did not (reloads, the first view of a shared link).
export function writeSelection(selection, view = null) {
  const url = selectionUrl(selection, view);
  const current = `${window.location.pathname}${window.location.search}`;
  if (url === current) window.history.replaceState({ selection }, '', url);
  else window.history.pushState({ selection }, '', url);
}

// Tabs and runs change the current entry: they are not steps for Back.
export function writeView(view) {
  const params = new URLSearchParams(window.location.search);
  if (!params.get('model')) return;
  viewParams(params, view);
  window.history.replaceState(window.history.state, '', `${window.location.pathname}?${params}`);
}
