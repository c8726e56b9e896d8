// The dropdowns that name a configuration (model, batch size, sequence length, machine,
// and for decoder LLMs new tokens and dtype). The main input screen and both sides of
// Compare use one of these each; Compare has no new-tokens or dtype dropdown.
// The machines are every one of /api/machines' `all` that answers "energy": the measured
// predictors (pc1) and the GPUs (calibrated on measured serving, or from the spec sheet);
// and this CPU where it answers "latency" (each node's time, from its profiles).
// The machine follows the model until one is chosen: a decoder LLM opens on the GPU whose
// `default_for` is "decoders", any other model on the one for "encoders" (pc1).

// 8, 16, 24 and 32 are the batch sizes, and 32..256 by 32 the lengths, that the IrEne
// dataset measured, so measured configurations can be picked from the lists.
export const BATCH_SIZES = [1, 2, 4, 8, 16, 24, 32, 48, 64];
const SEQ_LENS = [8, 16, 32, 64, 96, 128, 160, 192, 224, 256, 384, 512, 768, 1024, 1536, 2048];
const NEW_TOKENS = [0, 16, 64, 128, 256, 512, 1024];
const DTYPES = [['', "the config's"], ['bfloat16', 'bfloat16'], ['float16', 'float16'], ['float32', 'float32']];
// On a GPU a decoder's tree is one steady-state decode step, which needs new tokens: a
// decoder chosen in the form gets these unless new tokens were chosen.
const GPU_NEW_TOKENS = 64;

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
    // Whether the machine and the new tokens were chosen (by hand or by a link): then a
    // new model keeps them.
    this.machineChosen = false;
    this.newTokensChosen = false;
    fillGrouped(selects.model, models);
    if (selects.new_tokens) {
      fill(selects.new_tokens, NEW_TOKENS.map((n) => ({ value: String(n), text: n ? String(n) : 'none (one forward pass)' })));
      selects.new_tokens.addEventListener('change', () => { this.newTokensChosen = true; });
    }
    if (selects.dtype) fill(selects.dtype, DTYPES.map(([value, text]) => ({ value, text })));
    fill(selects.batch_size, BATCH_SIZES.map((b) => ({ value: String(b), text: String(b) })));
    fillMachines(selects.machine, machines);
    selects.machine.addEventListener('change', () => { this.machineChosen = true; });
    selects.model.addEventListener('change', () => {
      this.fillSeqLens(selects.seq_len.value);
      this.followModel({ newTokens: true });
      this.enableDecoderFields();
    });
    this.fillSeqLens('128');
    selects.batch_size.value = '8';
    this.followModel({ newTokens: false });
  }

  machineInfo(id = this.selects.machine.value) {
    return this.machines.find((m) => m.id === id) || null;
  }

  // The machine a model opens on: the GPU for decoders, pc1 for the others (by the
  // server's `default_for`), else the predictor marked default, else the first.
  defaultMachine(info = this.modelInfo()) {
    const role = info && info.decoder ? 'decoders' : 'encoders';
    return this.machines.find((m) => m.default_for === role) || this.machines.find((m) => m.default_for === 'encoders')
      || this.machines.find((m) => m.default) || this.machines[0] || null;
  }

  // The model changed: the machine follows unless one was chosen; a decoder chosen here
  // (`newTokens`) on a GPU generates GPU_NEW_TOKENS tokens unless new tokens were chosen.
  followModel({ newTokens }) {
    if (!this.machineChosen) {
      const machine = this.defaultMachine();
      if (machine) this.selects.machine.value = machine.id;
    }
    const select = this.selects.new_tokens;
    if (!newTokens || !select || this.newTokensChosen || select.value !== '0') return;
    if (this.modelInfo()?.decoder && this.machineInfo()?.kind === 'gpu') select.value = String(GPU_NEW_TOKENS);
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
  // A selection without a machine gets the model's default machine (as the server would).
  set value(selection) {
    for (const field of ['model', 'batch_size', 'machine']) {
      if (selection[field] != null && selection[field] !== '') ensureOption(this.selects[field], String(selection[field]));
    }
    this.machineChosen = selection.machine != null && selection.machine !== '';
    this.fillSeqLens(selection.seq_len ?? this.selects.seq_len.value);
    if (selection.seq_len != null && selection.seq_len !== '') ensureOption(this.selects.seq_len, String(selection.seq_len));
    if (this.selects.new_tokens) {
      ensureOption(this.selects.new_tokens, String(selection.new_tokens || 0));
      this.newTokensChosen = Boolean(Number(selection.new_tokens));
    }
    if (this.selects.dtype) ensureOption(this.selects.dtype, selection.dtype || '');
    this.followModel({ newTokens: false }); // a link asks for what it says: no new tokens added
    this.enableDecoderFields();
  }
}

// Machines grouped by what their energy rests on: predictors trained on measurements of
// the machine, GPUs calibrated on measured serving, GPUs from their spec sheet.
export function fillMachines(select, machines) {
  const groups = [
    ['measured energy predictors', machines.filter((m) => !m.kind || m.kind === 'measured')],
    ['GPUs calibrated on measured serving', machines.filter((m) => m.kind === 'gpu' && m.calibrated)],
    ['GPUs from the spec sheet', machines.filter((m) => m.kind === 'gpu' && !m.calibrated)],
    ['this CPU: time only (no energy meter)', machines.filter((m) => m.kind === 'cpu')],
    ['other machines', machines.filter((m) => m.kind && m.kind !== 'measured' && m.kind !== 'gpu' && m.kind !== 'cpu')],
  ];
  select.replaceChildren(...groups.filter(([, members]) => members.length).map(([label, members]) => {
    const group = document.createElement('optgroup');
    group.label = label;
    for (const m of members) group.appendChild(new Option(m.name && m.name !== m.id ? `${m.name} (${m.id})` : m.id, m.id));
    return group;
  }));
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
