// Starts the real `irene serve` for the browser tests, on a free port of 127.0.0.1 with a
// throwaway cache file, and stops it afterwards.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const repoRoot = path.resolve(webDir, '..');

const HEALTH_TIMEOUT_MS = 30_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// `db`: a store of the test's own (a file path or URL); else a throwaway SQLite file.
// `extraArgs`: more options of `irene serve` (say, --predictors DIR).
export async function startIreneServer({ db, extraArgs = [] } = {}) {
  const binary = process.env.IRENE_BIN ? path.resolve(process.env.IRENE_BIN) : path.resolve(webDir, '../build/irene');
  if (!fs.existsSync(binary)) {
    throw new Error(`irene binary not found at ${binary}: build it first or set IRENE_BIN`);
  }
  const port = await freePort();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'irene-dashboard-test-'));
  const args = [
    'serve',
    '--host', '127.0.0.1',
    '--port', String(port),
    '--db', db || path.join(scratch, 'cache.sqlite'),
    '--web', webDir,
    '--data', path.resolve(repoRoot, '../shared/data/irene/device_1'),
    ...extraArgs,
  ];
  // The ML.ENERGY measurements (v2: vLLM 0.5.4; v3: vLLM 0.11.1), drawn beside serving
  // predictions, where the checkout has them.
  for (const [folder, file] of [['mlenergy', 'vllm_v2_measurements.csv'], ['mlenergy-v3', 'vllm_v3_h100_measurements.csv']]) {
    const servingData = path.resolve(repoRoot, '../shared/data', folder);
    if (fs.existsSync(path.join(servingData, file))) args.push('--serving-data', servingData);
  }
  const child = spawn(binary, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-8000); // the tail is what explains a failure
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });

  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
    fs.rmSync(scratch, { recursive: true, force: true });
  };

  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`irene serve exited (${JSON.stringify(exited)}) before answering:\n${binary} ${args.join(' ')}\n${output}`);
    }
    try {
      const response = await fetch(`${baseUrl}/api/health`);
      if (response.status === 200) return { baseUrl, binary, stop, output: () => output };
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error(`irene serve did not answer GET /api/health with 200 within ${HEALTH_TIMEOUT_MS / 1000} s:\n${binary} ${args.join(' ')}\n${output}`);
}
