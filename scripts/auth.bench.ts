// What signing the broadcasts costs, next to what a round costs, measured in one run (npm run bench, part "auth").
// The coordinator signs a round once (the message digest, then one HMAC per registered client); each client verifies
// its own MAC (the digest, then one HMAC). Both sit on the round's critical path, so their sum is set against one
// client's local training of a default `npm run federate` round, timed here on the same machine: CNN-S, E = 1,
// B = 16, 1,350 samples (1,500 minus the 10% held out for federated evaluation), wasm with our kernels.
import * as tf from '@tensorflow/tfjs';
import { newKey, signBroadcast, verifyBroadcast } from '../src/shared/broadcast-auth';
import { DEFAULT_CONFIG } from '../src/shared/config';
import { buildModel, layerSpecs } from '../src/shared/ml/models';
import { trainLocal } from '../src/shared/ml/train';
import { PROTOCOL_VERSION, type RoundMessage, type UnsignedBroadcast } from '../src/shared/protocol';
import { expectedSteps, localEvalCount } from '../src/shared/run-plan';
import { totalSize } from '../src/shared/weights';
import { initBackend } from './node-runtime';

export interface AuthRow {
  model: string;
  params: number;
  clients: number;
  signMs: number;
  verifyMs: number;
  /** (sign + verify) / one client's training of a default round. */
  share: number;
}

export interface AuthBenchReport {
  /** One client's training of a default round (85 steps of CNN-S at B = 16), extrapolated from timed steps. */
  roundTrainMs: number;
  stepMs: number;
  rows: AuthRow[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeIt(fn: () => Promise<unknown>, repeats: number): Promise<number> {
  await fn(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

async function trainingStepMs(steps: number): Promise<number> {
  await initBackend();
  const net = buildModel('cnn-s');
  const n = 16 * steps;
  const xs = tf.randomUniform([n, 28, 28, 1]);
  const ys = tf.oneHot(tf.randomUniform([n], 0, 10, 'int32'), 10).toFloat();
  try {
    const opts = { epochs: 1, batchSize: 16, lr: 0.1, mu: 0, seed: 1 };
    await trainLocal(net, tf.slice(xs, 0, 32), tf.slice(ys, 0, 32), opts); // warm-up
    return (await trainLocal(net, xs, ys, opts)).trainMs / steps;
  } finally {
    net.dispose();
    tf.dispose([xs, ys]);
  }
}

export async function benchAuth(opts: { clients?: number[]; repeats?: number; steps?: number } = {}): Promise<AuthBenchReport> {
  const clients = opts.clients ?? [4, 20, 100];
  const repeats = opts.repeats ?? 9;
  const stepMs = await trainingStepMs(opts.steps ?? 12);
  const { maxSamples, localEval } = DEFAULT_CONFIG;
  const defaultSteps = expectedSteps(DEFAULT_CONFIG, maxSamples - localEvalCount(maxSamples, localEval), null);
  const roundTrainMs = stepMs * defaultSteps;
  const rows: AuthRow[] = [];
  for (const model of ['cnn-s', 'cnn-m'] as const) {
    const net = buildModel(model);
    const layers = layerSpecs(net);
    net.dispose();
    const size = totalSize(layers);
    const weights = Float32Array.from({ length: size }, (_, i) => Math.sin(i));
    for (const k of clients) {
      const keys = new Map<string, CryptoKey>();
      for (let i = 0; i < k; i++) keys.set(`tab-${String(i).padStart(8, '0')}`, (await newKey()).key);
      const assignments = Object.fromEntries([...keys.keys()].map((id, i) => [id, i]));
      const msg: UnsignedBroadcast = {
        v: PROTOCOL_VERSION, type: 'round', runId: 'run-bench', round: 7, config: { ...DEFAULT_CONFIG, model }, assignments, numPartitions: k,
        deadline: 1e12, layers, weights, perClient: [], evaluate: null,
      };
      let signed: RoundMessage | null = null;
      const signMs = await timeIt(async () => (signed = (await signBroadcast(msg, keys)) as RoundMessage), repeats);
      const [id, key] = [...keys][0];
      const verifyMs = await timeIt(async () => {
        if ((await verifyBroadcast(signed!, id, key)) !== 'ok') throw new Error('the bench message did not verify');
      }, repeats);
      rows.push({ model, params: size, clients: k, signMs, verifyMs, share: (signMs + verifyMs) / roundTrainMs });
    }
  }
  return { roundTrainMs, stepMs, rows };
}

export function formatAuthTable(r: AuthBenchReport): string {
  const lines = [
    '| model | clients | sign (coordinator) ms | verify (each client) ms | share of a default round |',
    '|:---|---:|---:|---:|---:|',
    ...r.rows.map((x) => `| ${x.model.toUpperCase()} (${x.params.toLocaleString('en-US')}) | ${x.clients} | ${x.signMs.toFixed(2)} | ${x.verifyMs.toFixed(2)} | ${(100 * x.share).toFixed(3)}% |`),
  ];
  return lines.join('\n');
}
