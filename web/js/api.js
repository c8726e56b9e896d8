// Client of the irene HTTP API (docs/api.md). Every failure becomes an ApiError whose
// message is the server's own `error.message`, so the UI can show it verbatim.

export class ApiError extends Error {
  constructor(message, { status = 0, type = 'network' } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
  }
}

async function requestJson(method, path, { params, body } = {}) {
  const query = params ? `?${new URLSearchParams(params)}` : '';
  const init = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`${path}${query}`, init);
  } catch (cause) {
    throw new ApiError(`Cannot reach the irene server (${cause.message}).`);
  }
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    // Fall through: a non-JSON answer is reported below with its status.
  }
  if (!response.ok) {
    const error = answer && answer.error;
    if (error && error.message) {
      throw new ApiError(error.message, { status: error.code || response.status, type: error.type || 'error' });
    }
    throw new ApiError(`The server answered ${response.status} ${response.statusText} for ${path}.`,
      { status: response.status, type: 'http' });
  }
  if (answer == null) throw new ApiError(`The server's answer to ${path} is not JSON.`, { status: response.status, type: 'format' });
  return answer;
}

export async function fetchModels() {
  const body = await requestJson('GET', '/api/models');
  return body.models || [];
}

// One /api/machines request serves both lists: the machines with energy predictors, and
// the catalogue that serving predicts for.
let machinesRequest = null;
function machinesAnswer() {
  if (!machinesRequest) {
    machinesRequest = requestJson('GET', '/api/machines');
    machinesRequest.catch(() => { machinesRequest = null; });
  }
  return machinesRequest;
}

export async function fetchMachines() {
  return (await machinesAnswer()).machines || [];
}

// Every machine in one list (`all`): { id, name, kind ("measured", "gpu", "cpu"), answers
// (["energy", "serving", ...]), basis, calibrated, default_for, default_engine, memory_bytes }.
// A server without the list: its energy predictors, as measured machines.
export async function fetchMachineList() {
  const answer = await machinesAnswer();
  if (Array.isArray(answer.all)) return answer.all;
  return (answer.machines || []).map((m) => ({
    ...m, kind: 'measured', answers: ['energy'], basis: m.description || '', default_for: m.default ? 'encoders' : null,
  }));
}

export async function fetchCatalogue() {
  return (await machinesAnswer()).catalogue || [];
}

// The serving engines the server describes ({ id, name, chunked_prefill, kernels }).
export async function fetchEngines() {
  return (await machinesAnswer()).engines || [];
}

// A GET answer kept for the page's life, one per set of parameters; a failure is
// forgotten so asking again asks the server.
function keptAnswers(path) {
  const kept = new Map();
  return (params) => {
    const key = JSON.stringify(params);
    if (!kept.has(key)) {
      const pending = requestJson('GET', path, { params });
      pending.catch(() => kept.delete(key));
      kept.set(key, pending);
    }
    return kept.get(key);
  };
}

// An LLM server's steady state; `params` as GET /api/serving takes them (docs/api.md).
export const fetchServing = keptAnswers('/api/serving');

// What if (GET /api/whatif): a serving setup (side A, /api/serving's parameters) beside the
// same with changes (parameters b.KEY, b.config.KEY), node by node. Kept for the page like
// the serving answers.
export const fetchWhatIf = keptAnswers('/api/whatif');

// The advisor (GET /api/advise): the serving setup with the least energy per output token
// under the objectives, its explanation, the runner-up and the ITL frontier. Not cached
// here: the server caches it, and a second click after a failure must ask again anyway.
export function fetchAdvice(params) {
  return requestJson('GET', '/api/advise', { params });
}

// The leaderboard (GET /api/leaderboard): every decoder at its least-energy setup per task
// and machine, with published scores. The first answer takes seconds; kept for the page.
export const fetchLeaderboard = keptAnswers('/api/leaderboard');

// The same leaderboard as a CSV file, for a link the browser downloads.
export function leaderboardCsvUrl(params) {
  return `/api/leaderboard?${new URLSearchParams({ ...params, format: 'csv' })}`;
}

// Energy answers are immutable for a given request, so they are kept for the page's life:
// switching back to a configuration, comparing or sweeping never asks twice.
const energyCache = new Map();

export function energyKey({ model, batch_size, seq_len, machine, new_tokens, dtype, config, root, max_nodes }) {
  return JSON.stringify([config ? JSON.stringify(config) : model, String(batch_size), String(seq_len), machine || '',
    String(new_tokens || 0), dtype || '', String(root ?? ''), String(max_nodes ?? '')]);
}

export function fetchEnergy(selection) {
  const key = energyKey(selection);
  if (!energyCache.has(key)) {
    const params = { model: selection.model, batch_size: selection.batch_size, seq_len: selection.seq_len };
    if (selection.machine) params.machine = selection.machine;
    if (Number(selection.new_tokens) > 0) params.new_tokens = selection.new_tokens;
    if (selection.dtype) params.dtype = selection.dtype;
    // Large trees come level by level: at most max_nodes nodes, then subtrees by root index.
    if (selection.max_nodes) params.max_nodes = selection.max_nodes;
    if (selection.root != null) params.root = selection.root;
    // A pasted config.json goes in the body of the POST form (docs/api.md).
    const pending = selection.config
      ? requestJson('POST', '/api/energy', {
        body: {
          ...Object.fromEntries(Object.entries(params).filter(([key]) => key !== 'model')),
          config: selection.config,
          batch_size: Number(params.batch_size),
          seq_len: Number(params.seq_len),
          ...(params.new_tokens ? { new_tokens: Number(params.new_tokens) } : {}),
          ...(params.max_nodes ? { max_nodes: Number(params.max_nodes) } : {}),
          ...(params.root != null ? { root: Number(params.root) } : {}),
        },
      })
      : requestJson('GET', '/api/energy', { params });
    // A failed request is forgotten so that trying again asks the server again.
    pending.catch(() => energyCache.delete(key));
    energyCache.set(key, pending);
  }
  return energyCache.get(key);
}

// Live profiles: the server runs every node of the model on its own machine (docs/api.md).
// Measurement campaigns in the server's store, with their progress.
export function fetchCampaigns() {
  return requestJson('GET', '/api/campaigns');
}

// One campaign: every point's status and figures beside the predicted energy.
export function fetchCampaign(name) {
  return requestJson('GET', `/api/campaigns/${encodeURIComponent(name)}`);
}

export function startProfile({ model, batch_size, seq_len }, settings) {
  return requestJson('POST', '/api/profiles', {
    body: { model, batch_size: Number(batch_size), seq_len: Number(seq_len), settings },
  });
}

export function fetchProfile(id) {
  return requestJson('GET', `/api/profiles/${encodeURIComponent(id)}`);
}

export function cancelProfile(id) {
  return requestJson('DELETE', `/api/profiles/${encodeURIComponent(id)}`);
}
