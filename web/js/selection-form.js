// The dropdowns that name a configuration (model, batch size, sequence length, machine,
// and for decoder LLMs new tokens and dtype). The main input screen and both sides of
// Compare use one of these each; Compare has no new-tokens or dtype dropdown.

// 8, 16, 24 and 32 are the batch sizes, and 32..256 by 32 the lengths, that the IrEne
// dataset measured, so measured configurations can be picked from the lists.
export const BATCH_SIZES = [1, 2, 4, 8, 16, 24, 32, 48, 64];
const SEQ_LENS = [8, 16, 32, 64, 96, 128, 160, 192, 224, 256, 384, 512, 768, 1024, 1536, 2048];
const NEW_TOKENS = [0, 16, 64, 128, 256, 512, 1024];
const DTYPES = [['', "the config's"], ['bfloat16', 'bfloat16'], ['float16', 'float16'], ['float32', 'float32']];

export function seqLensFor(model) {
  const max = model ? model.max_seq_len : 512;
  const lens = SEQ_LENS.filter((s) => s <= max);
  if (!lens.includes(max)) lens.push(max);
  return lens;
}

export class SelectionForm {
  // `selects`: { model, batch_size, seq_len, machine } <select> elements.
  constructor(selects, { models, machines }) {
    this.selects = selects;
    this.models = models;
    this.machines = machines;
    fillGrouped(selects.model, models);
    if (selects.new_tokens) {
      fill(selects.new_tokens, NEW_TOKENS.map((n) => ({ value: String(n), text: n ? String(n) : 'none (one forward pass)' })));
    }
    if (selects.dtype) fill(selects.dtype, DTYPES.map(([value, text]) => ({ value, text })));
    fill(selects.batch_size, BATCH_SIZES.map((b) => ({ value: String(b), text: String(b) })));
    fill(selects.machine, machines.map((m) => ({ value: m.id, text: m.name && m.name !== m.id ? `${m.name} (${m.id})` : m.id })));
    const defaultMachine = machines.find((m) => m.default) || machines[0];
    if (defaultMachine) selects.machine.value = defaultMachine.id;
    selects.model.addEventListener('change', () => {
      this.fillSeqLens(selects.seq_len.value);
      this.enableDecoderFields();
    });
    this.fillSeqLens('128');
    selects.batch_size.value = '8';
  }

  // New tokens and dtype mean something for decoder LLMs only.
  enableDecoderFields() {
    const decoder = Boolean(this.modelInfo()?.decoder);
    for (const field of ['new_tokens', 'dtype']) {
      const select = this.selects[field];
      if (!select) continue;
      select.disabled = !decoder || this.selects.model.disabled;
      if (!decoder) select.value = field === 'new_tokens' ? '0' : '';
    }
  }

  modelInfo(name = this.selects.model.value) {
    return this.models.find((m) => m.name === name) || null;
  }

  // Keeps the chosen length when the new model allows it, otherwise the nearest allowed one.
  fillSeqLens(wanted) {
    const lens = seqLensFor(this.modelInfo());
    fill(this.selects.seq_len, lens.map((s) => ({ value: String(s), text: String(s) })));
    const target = Number(wanted);
    const best = lens.includes(target) ? target : lens.reduce((a, b) => (Math.abs(b - target) < Math.abs(a - target) ? b : a));
    this.selects.seq_len.value = String(best);
  }

  get value() {
    return {
      model: this.selects.model.value,
      batch_size: this.selects.batch_size.value,
      seq_len: this.selects.seq_len.value,
      machine: this.selects.machine.value,
      new_tokens: this.selects.new_tokens && this.selects.new_tokens.value !== '0' ? this.selects.new_tokens.value : '',
      dtype: this.selects.dtype ? this.selects.dtype.value : '',
    };
  }

  // Values from a URL may be outside the dropdowns (seq_len=9999): they are added as an
  // option so the form shows what was asked, and the server's answer explains the problem.
  set value(selection) {
    for (const field of ['model', 'batch_size', 'machine']) {
      if (selection[field] != null && selection[field] !== '') ensureOption(this.selects[field], String(selection[field]));
    }
    this.fillSeqLens(selection.seq_len ?? this.selects.seq_len.value);
    if (selection.seq_len != null && selection.seq_len !== '') ensureOption(this.selects.seq_len, String(selection.seq_len));
    if (this.selects.new_tokens) ensureOption(this.selects.new_tokens, String(selection.new_tokens || 0));
    if (this.selects.dtype) ensureOption(this.selects.dtype, selection.dtype || '');
    this.enableDecoderFields();
  }
}

// Models grouped by family, in the order families first appear.
export function fillGrouped(select, models) {
  const groups = new Map();
  for (const m of models) {
    if (!groups.has(m.family)) groups.set(m.family, []);
    groups.get(m.family).push(m);
  }
  select.replaceChildren(...[...groups].map(([family, members]) => {
    const group = document.createElement('optgroup');
    group.label = family;
    for (const m of members) group.appendChild(new Option(`${m.name} (${m.layers} layers)`, m.name));
    return group;
  }));
}

function fill(select, options) {
  select.replaceChildren(...options.map(({ value, text }) => new Option(text, value)));
}

function ensureOption(select, value) {
  if (![...select.options].some((o) => o.value === value)) select.add(new Option(`${value} (from the link)`, value));
  select.value = value;
}

// Builds the four labelled dropdowns inside a container (for the Compare sides).
export function buildSelectControls(container, idPrefix) {
  const fields = [
    ['model', 'Model', 'col-12'],
    ['batch_size', 'Batch size', 'col-4'],
    ['seq_len', 'Sequence length', 'col-4'],
    ['machine', 'Machine', 'col-4'],
  ];
  const row = document.createElement('div');
  row.className = 'row g-1';
  const selects = {};
  for (const [field, title, width] of fields) {
    const cell = document.createElement('div');
    cell.className = width;
    const label = document.createElement('label');
    label.className = 'form-label small mb-0';
    label.htmlFor = `${idPrefix}-${field}`;
    label.textContent = title;
    const select = document.createElement('select');
    select.className = 'form-select form-select-sm';
    select.id = `${idPrefix}-${field}`;
    select.name = field;
    cell.append(label, select);
    row.appendChild(cell);
    selects[field] = select;
  }
  container.appendChild(row);
  return selects;
}
