// The dashboard's wiring: loads models and machines, turns a selection into an
// /api/energy request, and hands the answer to every view. The views themselves live in
// js/; this file only decides who is told what, and keeps the URL in step.

import {
  fetchCatalogue, fetchEnergy, fetchEngines, fetchMachineList, fetchMachines, fetchModels, fetchServing,
} from './js/api.js';
import { AdvisorPanel } from './js/advisor-panel.js';
import { CampaignPanel } from './js/campaign-panel.js';
import { drawClassChart } from './js/class-chart.js';
import { ComparePanel } from './js/compare.js';
import { CostPanel } from './js/cost-panel.js';
import { drawLegend } from './js/energy-color.js';
import { baseName, downloadText, nodesCsv, treeJson } from './js/export.js';
import {
  escapeHtml, formatBytes, formatCount, formatEnergy, formatPercent, formatSignedPercent,
} from './js/format.js';
import { IcicleView } from './js/icicle-view.js';
import { LeaderboardPanel } from './js/leaderboard-panel.js';
import { MeasurePanel } from './js/measure-panel.js';
import { NodeList } from './js/node-list.js';
import { BATCH_SIZES, SelectionForm, buildSelectControls } from './js/selection-form.js';
import { clearStatus, showError, showLoading } from './js/status.js';
import { ServingPanel } from './js/serving-panel.js';
import { SweepPanel } from './js/sweep-chart.js';
import { Tooltip } from './js/tooltip.js';
import { TradeoffChart } from './js/tradeoff-chart.js';
import {
  buildModel, costliestLayer, costliestOmitted, fullName, graftChildren, omittedCount,
} from './js/tree-model.js';
import { TreeView } from './js/tree-view.js';
import { WhatIfPanel } from './js/whatif-panel.js';
import { readSelection, readView, writeSelection, writeView } from './js/url-state.js';

const $ = (id) => document.getElementById(id);
const SELECT_HINT = 'Click a node to open it; hover or focus it for details.';
// Answers hold at most about this many nodes; deeper levels of larger trees (a 126-layer
// generation has 18,000) are asked for when a node opens.
const MAX_NODES = 6000;

const state = {
  models: [],
  machines: [], // the energy predictors' machines, with their cross-validated errors
  allMachines: [], // /api/machines' `all`: every machine, with what it answers and on what basis
  machineList: [], // those of them that answer energy (predictors and GPUs)
  catalogue: [], // the machines serving predicts for
  engines: [], // the serving engines irene describes
  // The subtree below a node of the answer on screen (an energy tree, or a serving step).
  fetchSubtree: energySubtree,
  model: null, // the buildModel() of the answer on screen
  selection: null,
  tab: 'tree',
  staleTabs: new Set(), // tabs drawn lazily, when first shown after a new answer
  loadToken: 0,
  view: { tab: 'tree', compareB: null, sweep: null }, // what the URL says beside the selection
};

async function energySubtree(selection, node) {
  return (await fetchEnergy({ ...selection, root: node.index, max_nodes: MAX_NODES })).tree.root;
}

const tooltip = new Tooltip(document.body);
const treeView = new TreeView($('tree-container'), {
  tooltip,
  onSelect: (node) => selectNode(node, 'tree'),
  onRender: (shown, total) => {
    $('tree-count').textContent = `${shown.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} nodes shown`;
  },
  loadChildren: (node) => loadSubtree(node),
});

// Grafts the subtree below `node` that the first answer left out, and tells the views.
async function loadSubtree(node) {
  const model = state.model;
  const selection = state.selection;
  try {
    const subtree = await state.fetchSubtree(selection, node);
    if (state.model !== model) return;
    graftChildren(model, node, subtree);
    nodeList.setModel(model);
    state.staleTabs = new Set(['icicle', 'classes']);
    renderFacts(model);
  } catch (error) {
    showError($('status'), error, { title: `Cannot load the nodes below ${fullName(node)}` });
  }
}
const icicle = new IcicleView($('icicle-container'), { tooltip, onSelect: (node) => selectNode(node, 'icicle') });
const nodeList = new NodeList(
  { table: $('node-table'), search: $('list-search'), kind: $('list-kind'), count: $('list-count') },
  { onActivate: (node) => selectNode(node, 'list') },
);
const costPanel = new CostPanel({
  requests: $('cost-requests'), price: $('cost-price'), intensity: $('cost-intensity'), result: $('cost-result'), reset: $('cost-reset'),
});
let mainForm = null;
let comparePanel = null;
let sweepPanel = null;
let servingPanel = null;
const measurePanel = new MeasurePanel(
  {
    start: $('measure-start'), cancel: $('measure-cancel'), seconds: $('measure-seconds'), rounds: $('measure-rounds'),
    level: $('measure-level'), file: $('measure-file'), plan: $('measure-plan'), progress: $('measure-progress'), bar: $('measure-bar'),
    status: $('measure-status'), result: $('measure-result'), table: $('measure-table'),
  },
  {
    onStatus: (error) => (error ? showError($('measure-error'), error, { title: 'Profile' }) : clearStatus($('measure-error'))),
    onOpenOther: (selection) => {
      mainForm.value = { ...mainForm.value, ...selection };
      return visualize(mainForm.value, { history: true });
    },
  },
);

// ---- selection of one node, from any view ----

function selectNode(node, from) {
  describeSelected(node);
  if (from === 'list') {
    if (node.kind === 'math') $('show-math').checked = true; // reveal() shows math ops again
    if (state.tab === 'icicle') icicle.showNode(node);
    else {
      showTab('tree');
      treeView.reveal(node);
    }
    treeView.highlight(node);
    $('list-note').replaceChildren();
    return;
  }
  if (from === 'icicle') treeView.highlight(node);
  const listed = nodeList.highlight(node);
  const note = $('list-note');
  if (listed) {
    note.replaceChildren();
  } else {
    note.innerHTML = 'The selected node is hidden by the list\'s filters. <button type="button" class="btn btn-link btn-sm p-0 align-baseline">Clear filters</button>';
    note.querySelector('button').addEventListener('click', () => {
      nodeList.clearFilters();
      nodeList.highlight(node);
      note.replaceChildren();
    });
  }
}

function describeSelected(node) {
  const model = state.model;
  const energy = node.energy != null
    ? `${model.format(node.energy)}, ${formatPercent(node.shareOfModel)} of the model`
    : `no ${model.unit} of its own (inside its parent's remainder)`;
  const measured = node.measuredEnergy != null
    ? `; measured ${formatEnergy(node.measuredEnergy)} (error ${formatSignedPercent(node.errorPct)})` : '';
  $('selected-node').innerHTML = `<span class="text-body-secondary">Selected:</span> <strong>${escapeHtml(fullName(node))}</strong> · ${energy}${escapeHtml(measured)}`;
}

// ---- tabs ----

const TABS = ['tree', 'icicle', 'classes', 'compare', 'sweep', 'measure'];

function showTab(name) {
  state.tab = name;
  state.view.tab = name;
  if (state.model) writeView(state.view);
  for (const tab of TABS) {
    const active = tab === name;
    const button = $(`tab-${tab}`);
    button.classList.toggle('active', active);
    button.setAttribute('aria-selected', String(active));
    button.tabIndex = active ? 0 : -1;
    $(`panel-${tab}`).hidden = !active;
  }
  tooltip.hide();
  drawIfStale(name);
}

// The icicle and the bar chart need their panel's width, so they are drawn when shown.
function drawIfStale(name) {
  if (!state.model || !state.staleTabs.has(name)) return;
  state.staleTabs.delete(name);
  if (name === 'icicle') icicle.setModel(state.model);
  if (name === 'classes') drawClassChart($('class-chart'), state.model, $('class-level').value);
}

function wireTabs() {
  for (const tab of TABS) $(`tab-${tab}`).addEventListener('click', () => showTab(tab));
  $('view-tabs').addEventListener('keydown', (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    const next = TABS[(TABS.indexOf(state.tab) + step + TABS.length) % TABS.length];
    showTab(next);
    $(`tab-${next}`).focus();
  });
}

// ---- loading a configuration ----

function setBusy(busy) {
  const button = $('visualize-button');
  button.disabled = busy || !mainForm;
  button.innerHTML = busy
    ? '<span class="spinner-border spinner-border-sm" aria-hidden="true"></span> Loading…'
    : 'Visualize';
}

// Resolves to true when this selection is the one on screen afterwards.
async function visualize(selection, { history }) {
  const token = ++state.loadToken;
  if (history) {
    // A new configuration: the old comparison and sweep no longer describe it.
    state.view = { tab: state.view.tab, compareB: null, sweep: null };
    writeSelection(selection, state.view);
  }
  setBusy(true);
  showLoading($('status'), `Predicting the energy of every node of ${selection.model} (batch ${selection.batch_size}, sequence ${selection.seq_len}) on ${selection.machine || 'the default machine'}…`);
  try {
    const answer = await fetchEnergy({ ...selection, max_nodes: MAX_NODES });
    if (token !== state.loadToken) return false; // a newer request won
    const model = buildModel(answer);
    const open = await openingNode(model, (node) => energySubtree(selection, node));
    if (token !== state.loadToken) return false;
    state.fetchSubtree = energySubtree;
    show(model, selection, open);
    clearStatus($('status'));
    return true;
  } catch (error) {
    if (token !== state.loadToken) return false;
    state.model = null;
    $('dashboard').hidden = true;
    $('intro').hidden = true;
    // Asking again helps after a network fault or a server fault, not after a bad request.
    const retry = !error.status || error.status >= 500 ? () => visualize(selection, { history: false }) : null;
    showError($('status'), error, { title: 'The server could not answer', retry });
    return false;
  } finally {
    if (token === state.loadToken) setBusy(false);
  }
}

// The node the tree opens on: the costliest layer (tree-model.js), with its children
// loaded first where the answer left them out: one subtree request, or up to three when
// even the layers were left out. Without numbered layers, the root. A failed load leaves
// the view with what it has.
async function openingNode(model, fetchSubtree) {
  try {
    for (let round = 0; round < 3; round += 1) {
      const layer = costliestLayer(model);
      const load = layer ? (layer.omitted && !layer.children.length ? layer : null) : costliestOmitted(model);
      if (!load) break;
      graftChildren(model, load, await fetchSubtree(load));
    }
  } catch {
    // Opened as far as loaded.
  }
  return costliestLayer(model) || model.root;
}

function show(model, selection, open = null) {
  state.model = model;
  state.selection = { ...selection, machine: model.selection.machine || selection.machine };
  $('intro').hidden = true;
  $('dashboard').hidden = false;
  $('selected-node').textContent = SELECT_HINT;
  $('list-note').replaceChildren();
  renderSummary(model);
  // A request: one forward pass of the tree, or where the tree is a served batch, one of
  // its requests (the serving answer's energy per request).
  const perRequest = model.answer.serving && Number.isFinite(model.answer.serving.energy_per_request_j)
    ? model.answer.serving.energy_per_request_j : model.totalEnergy;
  costPanel.setEnergy(model.unit === 'energy' ? perRequest : null);
  $('list-title').textContent = model.unit === 'time' ? 'Node times' : 'Node energies';
  $('legend-title').textContent = `share of model ${model.unit}`;
  nodeList.setModel(model);
  treeView.setModel(model, { open });
  measurePanel.setModel(model);
  state.staleTabs = new Set(['icicle', 'classes']);
  drawIfStale(state.tab);
  const modelInfo = mainForm.modelInfo(selection.model);
  comparePanel.formA.value = state.selection;
  comparePanel.formB.value = { ...state.selection, batch_size: String(otherBatchSize(Number(selection.batch_size))) };
  sweepPanel.setSelection(state.selection, modelInfo || { max_seq_len: Number(selection.seq_len) });
  document.title = `irene · ${selection.model} b${selection.batch_size} s${selection.seq_len}`;
}

// Compare opens on the same configuration at double (or half) the batch size.
function otherBatchSize(batch) {
  return batch * 2 <= 64 ? batch * 2 : Math.max(1, batch / 2);
}

function engineName(id) {
  return (state.engines.find((e) => e.id === id) || { name: id }).name;
}

function renderSummary(model) {
  const sel = model.selection;
  const a = model.answer;
  const newTokens = Number(a.new_tokens) || 0;
  const dtype = a.dtype && a.dtype !== 'float32' ? ` · ${a.dtype}` : '';
  const pasted = state.selection && state.selection.config ? 'pasted config · ' : '';
  // A GPU's answer says what its tree is (`what`): under an engine, a decoder's batch of
  // requests served at the steady state (prefill, decode steps, the engine's time; the
  // serving answer beside it); otherwise a roofline forward pass.
  const onGpu = typeof a.what === 'string' && a.machine_name != null;
  const step = onGpu && a.engine && a.serving ? a.serving : null;
  if (onGpu) {
    const fewest = a.num_gpus > 1 ? ' (the fewest that hold it)' : '';
    const gpus = `${a.num_gpus} × ${a.machine_name}${fewest}`;
    $('summary-config').textContent = step
      ? `${pasted}${sel.model} · ${step.batch_size} requests running · prompt ${sel.seq_len} + ${newTokens} new tokens · ${gpus} · ${engineName(a.engine)}${dtype}`
      : `${pasted}${sel.model} · batch ${sel.batch_size} · seq ${sel.seq_len} · ${gpus} · one forward pass${dtype}`;
  } else {
    const run = newTokens > 0 ? `prefill of ${sel.seq_len} tokens + ${newTokens} new tokens` : 'one forward pass';
    $('summary-config').textContent = `${pasted}${sel.model} · batch ${sel.batch_size} · seq ${sel.seq_len}${sel.machine ? ` · ${sel.machine}` : ''} · ${run}${dtype}`;
  }
  // A generation's energy per output token: everything (prefill included) over the tokens
  // made. A served batch's: the serving answer's per request and per output token.
  let perToken = '';
  if (step) perToken = ` for ${step.batch_size} requests (${formatEnergy(step.energy_per_request_j)} per request, ${formatEnergy(step.energy_per_output_token_j)} per output token)`;
  else if (!onGpu && newTokens > 0 && model.totalEnergy != null) perToken = ` (${formatEnergy(model.totalEnergy / (newTokens * Number(sel.batch_size)))} per output token)`;
  // The figure large, what it is small beside it.
  if (model.unit === 'time') perToken = ' of time (no energy meter on this machine)';
  $('summary-total').innerHTML = `${model.format(model.totalEnergy)}${perToken ? `<span class="summary-total-note">${escapeHtml(perToken)}</span>` : ''}`;
  $('summary-total').dataset.energyJ = model.unit === 'energy' ? String(model.totalEnergy) : '';
  $('summary-total').dataset.latencyS = model.unit === 'time' ? String(model.totalEnergy) : '';
  renderBasis(onGpu ? a : null, sel.machine);
  $('summary-measured').innerHTML = model.measuredTotal != null
    ? `<span class="fs-5 fw-semibold" id="summary-measured-total">${formatEnergy(model.measuredTotal)}</span> <span class="small">measured,
       error <strong>${formatSignedPercent(model.root.errorPct)}</strong></span>`
    : '<span class="small text-body-secondary">no measurement for this configuration</span>';
  renderFacts(model);
  // A generation's phases side by side: where its energy goes, prefill or decode.
  const phases = model.root.children.filter((n) => n.kind === 'phase');
  // A phase outside the traced model (the sampler, the engine's own time) has no counts.
  $('summary-phases').textContent = phases.map((p) => `${p.path} ${model.format(p.energy)} (${formatPercent(p.shareOfModel, 1)})`
    + (p.data.flops == null ? '' : ` · ${formatCount(p.data.flops)} FLOPs · ${formatBytes(p.data.mem_bytes)} moved`)).join('   |   ');
  $('summary-phases').hidden = phases.length === 0;
  // What the figures assume (extrapolated node types, balanced expert routing, sums of
  // decode steps), as the server's tree lists it.
  const notes = Array.isArray(model.tree.notes) ? model.tree.notes : [];
  const extrapolated = model.nodes.filter((n) => n.extrapolated).length;
  const notesList = $('summary-notes');
  notesList.replaceChildren(...notes.map((note) => {
    const li = document.createElement('li');
    li.textContent = note.startsWith('extrapolated:') ? `${extrapolated.toLocaleString('en-US')} nodes ${note}` : note;
    return li;
  }));
  notesList.hidden = notes.length === 0;
}

// What the tree is, what the figures rest on and, when the model does not fit the GPUs,
// the memory note (in amber, where it is seen). `gpuAnswer` null: a measured predictor's
// answer, whose basis is its machine's.
function renderBasis(gpuAnswer, machineId) {
  const what = gpuAnswer ? gpuAnswer.what : null;
  $('summary-what').textContent = what ? `The tree: ${what}.` : '';
  $('summary-what').hidden = !what;
  const note = gpuAnswer ? gpuAnswer.memory_note : null;
  $('summary-memory').textContent = note ? `${note}.` : '';
  $('summary-memory').hidden = !note;
  const machine = state.machineList.find((m) => m.id === machineId);
  const basis = gpuAnswer ? gpuAnswer.basis : machine && machine.basis;
  $('summary-basis').textContent = basis ? `Basis: ${basis}` : '';
  $('summary-basis').hidden = !basis;
  $('summary-basis').classList.toggle('text-warning-emphasis', /spec sheet/.test(basis || ''));
}

// ---- one serving step's tree ----

// The tree of one steady-state step of a serving answer, in the main views: which nodes
// spend the energy (its energies are the roofline's on the chosen GPUs). Not a link: the
// URL keeps the main selection.
async function showServingStep(answer, request) {
  const token = ++state.loadToken;
  const fetchSubtree = async (sel, node) => (await fetchServing({ ...request, root: String(node.index), max_nodes: String(MAX_NODES) })).step.root;
  const selection = { model: answer.model, batch_size: String(answer.batch_size), seq_len: '1', machine: answer.machine };
  const model = buildModel({
    model: answer.model, batch_size: answer.batch_size, seq_len: 1, machine: answer.machine,
    new_tokens: 0, dtype: answer.step.dtype, tree: answer.step, total_energy_j: answer.step.root.energy_j,
  });
  const open = await openingNode(model, (node) => fetchSubtree(selection, node));
  if (token !== state.loadToken) return;
  state.fetchSubtree = fetchSubtree;
  show(model, selection, open);
  renderBasis({ what: null, memory_note: null, basis: answer.basis }, answer.machine);
  // The layout and the formats too: a setup from the advisor may split its GPUs in data
  // parallel or store its weights in another format than the checkpoint.
  const replicas = answer.data_parallel > 1 ? ` (TP ${answer.tensor_parallel} × DP ${answer.data_parallel})` : '';
  const formats = [request.quantization ? `${request.quantization} weights` : '', request.kv_cache_dtype ? `${request.kv_cache_dtype} KV cache` : '']
    .filter(Boolean).map((f) => ` · ${f}`).join('');
  $('summary-config').textContent = `one steady-state serving step · ${answer.model} · ${answer.batch_size} requests running · `
    + `${answer.num_gpus} × ${answer.machine_name}${replicas}${formats} · context ${answer.prompt_len} + ${Math.floor(answer.output_len / 2)} tokens`;
  $('summary-total').innerHTML = `${formatEnergy(answer.step.root.energy_j)}<span class="summary-total-note"> (the step's decode; `
    + `${formatEnergy(answer.energy_per_output_token_j)} per output token with prefills and engine time)</span>`;
}

// A setup the advisor or the leaderboard names: predicted in the serving card (opened for
// it), then its step's tree in the main views, as "Show one step's tree below" does.
async function openServingSetup(setup) {
  $('serving-section').open = true;
  const answer = await servingPanel.openSetup(setup);
  if (!answer) return; // the serving card shows why
  await showServingStep(answer, servingPanel.answerRequest);
  $('dashboard').scrollIntoView({ block: 'start' });
}

function renderFacts(model) {
  const raw = model.root.data;
  const measuredNodes = model.nodes.filter((n) => n.measuredEnergy != null).length;
  const all = Number(model.tree.node_count) || model.nodes.length;
  const loaded = omittedCount(model) > 0 || model.nodes.length < all
    ? `${model.nodes.length.toLocaleString('en-US')} of ${all.toLocaleString('en-US')} nodes loaded (deeper levels load when a node opens)`
    : `${model.nodes.length.toLocaleString('en-US')} nodes`;
  // Mixtures of experts: the parameters a token passes through; recurrent layers: their constant state.
  const active = raw.active_parameters && raw.active_parameters !== raw.num_parameters
    ? ` (${formatCount(raw.active_parameters)} active per token)` : '';
  const state = raw.state_bytes ? ` · ${formatBytes(raw.state_bytes)} of recurrent state` : '';
  $('summary-facts').textContent = `${formatCount(raw.num_parameters)} parameters${active} · ${formatCount(raw.flops)} FLOPs · `
    + `${formatBytes(raw.mem_bytes)} moved${state} · ${loaded}`
    + `${measuredNodes ? ` (${measuredNodes} measured in the IrEne dataset)` : ''}`;
}

// ---- a pasted or dropped config.json ----

// Reads the config text; null (and the reason shown) when it is not a JSON object.
function pastedConfig() {
  const text = $('config-text').value.trim();
  $('config-error').textContent = '';
  if (!text) {
    $('config-error').textContent = 'Paste a config.json first, or drop or open a file.';
    return null;
  }
  try {
    const config = JSON.parse(text);
    if (config && typeof config === 'object' && !Array.isArray(config)) return config;
    $('config-error').textContent = 'A config.json holds one JSON object.';
  } catch (error) {
    $('config-error').textContent = `Not valid JSON: ${error.message}`;
  }
  return null;
}

function wirePastedConfig() {
  const text = $('config-text');
  const load = async (file) => { text.value = await file.text(); };
  $('config-file').addEventListener('change', (event) => {
    if (event.target.files[0]) load(event.target.files[0]);
    event.target.value = '';
  });
  text.addEventListener('dragover', (event) => event.preventDefault());
  text.addEventListener('drop', (event) => {
    event.preventDefault();
    if (event.dataTransfer.files[0]) load(event.dataTransfer.files[0]);
  });
  // A decoder config may generate: the new-tokens and dtype fields follow its model_type.
  const decoderTypes = new Set(state.models.filter((m) => m.decoder).map((m) => m.model_type));
  text.addEventListener('input', () => {
    let type = null;
    try { type = JSON.parse(text.value).model_type; } catch { /* not JSON yet */ }
    if (decoderTypes.has(type)) {
      $('new-tokens-select').disabled = false;
      $('dtype-select').disabled = false;
    }
  });
  $('config-visualize').addEventListener('click', () => {
    const config = pastedConfig();
    if (!config) return;
    // The URL cannot hold a config: the view is not a link, and Back does not return to it.
    visualize({ ...mainForm.value, model: config._name_or_path || 'pasted config', config }, { history: false });
  });
}

// ---- start ----

async function start() {
  showLoading($('status'), 'Loading the models and machines…');
  try {
    [state.models, state.machines, state.catalogue, state.engines, state.allMachines] = await Promise.all([
      fetchModels(), fetchMachines(), fetchCatalogue(), fetchEngines(), fetchMachineList(),
    ]);
    // Every machine that answers a tree: energy, or (this CPU with its latency model) time.
    state.machineList = state.allMachines.filter((m) => (m.answers || []).some((a) => a === 'energy' || a === 'latency'));
  } catch (error) {
    showError($('status'), error, { title: 'Cannot load the models and machines', retry: start });
    return;
  }
  clearStatus($('status'));
  const selects = {
    model: $('model-select'), batch_size: $('batch-select'), seq_len: $('seq-select'), machine: $('machine-select'),
    new_tokens: $('new-tokens-select'), dtype: $('dtype-select'),
  };
  const forms = { models: state.models, machines: state.machineList };
  mainForm = new SelectionForm(selects, forms);
  if (state.models.some((m) => m.name === 'bert-base-uncased')) {
    mainForm.value = { model: 'bert-base-uncased', batch_size: '8', seq_len: '128' };
  }
  for (const select of Object.values(selects)) select.disabled = false;
  mainForm.enableDecoderFields();
  wirePastedConfig();
  selects.machine.addEventListener('change', describeMachine);
  selects.model.addEventListener('change', describeMachine); // the machine follows the model
  describeMachine();
  setBusy(false);

  comparePanel = new ComparePanel(
    { run: $('compare-run'), totals: $('compare-totals'), table: $('compare-table'), search: $('compare-search'), count: $('compare-count') },
    {
      formA: new SelectionForm(buildSelectControls($('compare-a'), 'compare-a'), forms),
      formB: new SelectionForm(buildSelectControls($('compare-b'), 'compare-b'), forms),
      onStatus: (error) => (error ? showError($('compare-status'), error, { title: 'Compare failed' }) : clearStatus($('compare-status'))),
      onRun: (a, b) => {
        state.view.compareB = b;
        writeView(state.view);
      },
    },
  );
  buildSweepBatches();
  sweepPanel = new SweepPanel(
    { run: $('sweep-run'), cancel: $('sweep-cancel'), step: $('sweep-step'), batches: $('sweep-batches'), chart: $('sweep-chart'), progress: $('sweep-progress'), plan: $('sweep-plan') },
    {
      onStatus: (error) => (error ? showError($('sweep-progress'), error, { title: 'Some sweep points failed' }) : null),
      onRun: (settings) => {
        state.view.sweep = settings;
        writeView(state.view);
      },
    },
  );

  servingPanel = new ServingPanel(
    {
      model: $('serving-model'), machine: $('serving-machine'), gpus: $('serving-gpus'), stages: $('serving-stages'), batch: $('serving-batch'),
      prompt: $('serving-prompt'), output: $('serving-output'), runRequests: $('serving-run-requests'), outputCap: $('serving-output-cap'),
      run: $('serving-run'), info: $('serving-machine-info'), engine: $('serving-engine'), quantization: $('serving-quantization'),
      dataParallel: $('serving-dp'), expertParallel: $('serving-ep'), kvCache: $('serving-kv-cache'), cached: $('serving-cached'),
      result: $('serving-result'), over: $('serving-over'), chart: $('serving-chart'), showTree: $('serving-show-tree'),
    },
    {
      models: state.models,
      catalogue: state.catalogue,
      engines: state.engines,
      onStatus: (error) => (error ? showError($('serving-status'), error, { title: 'Serving' }) : clearStatus($('serving-status'))),
      onShowTree: showServingStep,
    },
  );

  new WhatIfPanel(
    {
      model: $('whatif-model'), machine: $('whatif-machine'), gpus: $('whatif-gpus'), batch: $('whatif-batch'),
      prompt: $('whatif-prompt'), output: $('whatif-output'), fromServing: $('whatif-from-serving'), extra: $('whatif-a-extra'),
      bMachine: $('whatif-b-machine'), bGpus: $('whatif-b-gpus'), bDataParallel: $('whatif-b-dp'), bExpertParallel: $('whatif-b-ep'),
      bBatch: $('whatif-b-batch'), bEngine: $('whatif-b-engine'), bQuantization: $('whatif-b-quantization'), bKvCache: $('whatif-b-kv-cache'),
      bConfig: $('whatif-b-config'), run: $('whatif-run'), figures: $('whatif-figures'), chart: $('whatif-chart'),
      chartNote: $('whatif-chart-note'), tree: $('whatif-tree'),
    },
    {
      models: state.models,
      machines: state.allMachines.filter((m) => (m.answers || []).includes('whatif')),
      engines: state.engines,
      servingSetup: () => servingPanel.request(),
      onStatus: (error) => (error ? showError($('whatif-status'), error, { title: 'What if' }) : clearStatus($('whatif-status'))),
    },
  );

  new AdvisorPanel(
    {
      model: $('advisor-model'), task: $('advisor-task'), itl: $('advisor-itl'), ttft: $('advisor-ttft'), maxGpus: $('advisor-max-gpus'),
      machines: $('advisor-machines'), run: $('advisor-run'), result: $('advisor-result'), chart: $('advisor-chart'),
      chartNote: $('advisor-chart-note'),
    },
    {
      models: state.models,
      catalogue: state.catalogue,
      onStatus: (error) => (error ? showError($('advisor-status'), error, { title: 'Advisor' }) : clearStatus($('advisor-status'))),
      onOpenSetup: openServingSetup,
    },
  );

  const tradeoff = new TradeoffChart({
    task: $('tradeoff-task'), benchmark: $('tradeoff-benchmark'), machine: $('tradeoff-machine'), chart: $('tradeoff-chart'), note: $('tradeoff-note'),
  });
  new LeaderboardPanel(
    {
      section: $('leaderboard-section'), tasks: $('leaderboard-tasks'), itl: $('leaderboard-itl'), maxGpus: $('leaderboard-max-gpus'),
      load: $('leaderboard-load'), summary: $('leaderboard-head'), taskFilter: $('leaderboard-task-filter'), search: $('leaderboard-search'),
      basis: $('leaderboard-basis'), count: $('leaderboard-count'), csv: $('leaderboard-csv'), table: $('leaderboard-table'),
      skipped: $('leaderboard-skipped'),
    },
    {
      onStatus: (error) => (error ? showError($('leaderboard-status'), error, { title: 'Leaderboard' }) : clearStatus($('leaderboard-status'))),
      onOpenSetup: openServingSetup,
      onAnswer: (answer) => {
        tradeoff.setAnswer(answer);
        $('tradeoff-scores-text').textContent = answer.scores_note || '';
        $('tradeoff-scores-note').hidden = !answer.scores_note;
      },
    },
  );

  new CampaignPanel(
    {
      section: $('campaign-section'), select: $('campaign-select'), refresh: $('campaign-refresh'),
      summary: $('campaign-summary'), table: $('campaign-table'), machine: $('campaign-machine'),
    },
    { onStatus: (error) => (error ? showError($('campaign-status'), error, { title: 'Campaigns' }) : clearStatus($('campaign-status'))) },
  );

  $('selection-form').addEventListener('submit', (event) => {
    event.preventDefault();
    visualize(mainForm.value, { history: true });
  });
  window.addEventListener('popstate', openFromUrl);
  openFromUrl();
}

// A link with ?model=... renders that view directly; without one, the input screen waits.
function openFromUrl() {
  const fromUrl = readSelection();
  if (!fromUrl) {
    state.loadToken += 1;
    state.model = null;
    $('dashboard').hidden = true;
    $('intro').hidden = false;
    clearStatus($('status'));
    return;
  }
  mainForm.value = fromUrl;
  describeMachine();
  // Replace, not push: the URL already says this; a machine left out gets the default's id.
  const view = readView();
  state.view = { ...view };
  const shown = visualize(mainForm.value, { history: false });
  addDefaultMachineToUrl(mainForm.value);
  shown.then((ok) => { if (ok) restoreView(view); });
}

// What a shared link showed beside the selection: its tab, its comparison, its sweep.
function restoreView(view) {
  if (view.compareB) {
    comparePanel.formB.value = view.compareB;
    comparePanel.run();
  }
  if (view.sweep) {
    sweepPanel.setSettings(view.sweep);
    sweepPanel.run();
  }
  showTab(TABS.includes(view.tab) ? view.tab : 'tree');
}

function addDefaultMachineToUrl(selection) {
  const params = new URLSearchParams(window.location.search);
  if (!params.get('machine') && selection.machine) {
    params.set('machine', selection.machine);
    window.history.replaceState({ selection }, '', `${window.location.pathname}?${params}`);
  }
}

// The machine's line under the form: what its energy rests on (`basis`), then for a
// measured predictor its cross-validated errors and description, for a GPU its memory and
// the engine a decoder's step runs under. Cut to one line; the full text on hover.
function describeMachine() {
  const id = $('machine-select').value;
  const listed = state.machineList.find((m) => m.id === id);
  const predictor = state.machines.find((m) => m.id === id);
  if (!listed && !predictor) {
    $('machine-info').textContent = '';
    $('machine-info').title = '';
    return;
  }
  const machine = { ...predictor, ...listed };
  const errors = (predictor && predictor.crossval_error_pct) || {};
  const cv = ['model', 'module', 'ml'].filter((k) => errors[k] != null).map((k) => `${k} ${errors[k].toFixed(2)} %`).join(', ');
  const gpu = machine.kind === 'gpu'
    ? `${machine.memory_bytes ? ` · ${Math.round(machine.memory_bytes / 1e9)} GB a GPU` : ''}`
      + ` · a generating decoder runs as one decode step under ${engineName(machine.default_engine)}, anything else as a roofline forward pass`
    : '';
  // Error figures before the rest: the line is cut to its width (the whole on hover).
  const method = predictor && predictor.method && !machine.basis ? ` · predictor: ${predictor.method}, ${predictor.feature_set} features` : '';
  const text = `${machine.name || machine.id}${cv ? ` · cross-validated error: ${cv}` : ''}`
    + `${machine.basis ? ` · ${machine.basis}` : ''}${gpu}${method}`
    + `${predictor && predictor.description ? ` · ${predictor.description}` : ''}`;
  $('machine-info').textContent = text;
  $('machine-info').title = text;
}

function buildSweepBatches() {
  const container = $('sweep-batches');
  for (const batch of BATCH_SIZES) {
    const label = document.createElement('label');
    label.className = 'form-check-label d-flex align-items-center gap-1';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.className = 'form-check-input m-0';
    box.value = String(batch);
    box.checked = [1, 8, 32].includes(batch);
    label.append(box, String(batch));
    container.appendChild(label);
  }
}

function wireToolbar() {
  $('expand-all').addEventListener('click', () => treeView.expandAll());
  $('reset-tree').addEventListener('click', () => {
    treeView.reset();
    $('selected-node').textContent = SELECT_HINT;
  });
  $('fit-tree').addEventListener('click', () => treeView.fit());
  $('show-math').addEventListener('change', (event) => treeView.setShowMath(event.target.checked));
  $('class-level').addEventListener('change', () => {
    if (state.model) drawClassChart($('class-chart'), state.model, $('class-level').value);
  });
  $('export-json').addEventListener('click', () => {
    if (state.model) downloadText(`${baseName(state.selection)}.json`, 'application/json', treeJson(state.model));
  });
  $('export-csv').addEventListener('click', () => {
    if (state.model) downloadText(`${baseName(state.selection)}-nodes.csv`, 'text/csv', nodesCsv(nodeList.visible));
  });
  $('copy-link').addEventListener('click', async () => {
    const button = $('copy-link');
    try {
      await navigator.clipboard.writeText(window.location.href);
      button.textContent = 'Link copied';
    } catch {
      button.textContent = 'Copy the address bar';
    }
    setTimeout(() => { button.textContent = 'Copy link'; }, 2000);
  });
  // Charts sized to their panel are redrawn when the window changes width.
  let timer = null;
  window.addEventListener('resize', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!state.model) return;
      state.staleTabs.add('icicle');
      state.staleTabs.add('classes');
      drawIfStale(state.tab);
    }, 200);
  });
}

drawLegend($('legend'), 200);
wireTabs();
wireToolbar();
start();
