// The selection lives in the URL under the API's own parameter names
// (/?model=gpt2&batch_size=8&seq_len=128&machine=pc1), so a link reopens the same view.

const FIELDS = ['model', 'batch_size', 'seq_len', 'machine'];

export function readSelection(search = window.location.search) {
  const params = new URLSearchParams(search);
  if (!params.get('model')) return null;
  const selection = {};
  for (const field of FIELDS) selection[field] = params.get(field) ?? '';
  return selection;
}

export function selectionUrl(selection) {
  const params = new URLSearchParams();
  for (const field of FIELDS) {
    if (selection[field] != null && selection[field] !== '') params.set(field, selection[field]);
  }
  return `${window.location.pathname}?${params}`;
}

// A new entry when the selection changed (Back returns to the previous view); the same
// entry is replaced when it did not (reloads, the first view of a shared link).
export function writeSelection(selection) {
  const url = selectionUrl(selection);
  const current = `${window.location.pathname}${window.location.search}`;
  if (url === current) window.history.replaceState({ selection }, '', url);
  else window.history.pushState({ selection }, '', url);
}
