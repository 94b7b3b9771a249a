// FedMChain's local round (spec §5): H chain cycles; each visits the modalities the client holds in the chain order
// and trains only that modality's encoder and head, φ_m and h_m, for E_m epochs on the error-compensated loss
// CE(h_m, y) + λ_ec·CE(sg[z_<m] + h_m, y), z_<m the logits of the modalities before it in the order. Order 'joint'
// (the no-chain ablation) trains every held modality at once on CE(Σ_m h_m, y) instead.
import * as tf from '@tensorflow/tfjs';
import { MODALITIES, type Modality } from '../shared/data/paired-modalities';
import { modalityHeads, trainableOf } from '../shared/ml/architectures/multimodal';
import { errorCompensatedLoss } from '../shared/ml/chain-objective';
import { trainLocal, type Objective, type TrainResult } from '../shared/ml/train';
import { deriveSeed } from '../shared/prng';
import { chainOrderFor } from '../shared/strategies/fedmchain';
import type { ClientSide } from '../shared/strategies/strategy';

export interface ChainOptions {
  chain: NonNullable<ClientSide['chain']>;
  round: number;
  held: readonly Modality[];
  batchSize: number;
  lr: number;
  mu: number;
  seed: number;
  /** Steps allowed in all (a partial straggler); default: every cycle in full. */
  maxSteps?: number;
  inputsForEpoch?: (epoch: number) => tf.Tensor;
  onEpoch?: (epoch: number, loss: number, samplesPerSec: number) => void;
  /** Steps done so far over the whole chain. */
  onStep?: (steps: number) => void;
}

/** The loss of phase m: its own head against the labels, and on top of what the earlier ones already predict. */
function chainObjective(heads: tf.LayersModel, m: Modality, earlier: readonly Modality[], lambdaEc: number): Objective {
  const at = (x: Modality) => MODALITIES.indexOf(x);
  return (_model, xb, yb) => {
    const logits = heads.apply(xb, { training: true }) as tf.Tensor2D[];
    const z = earlier.length ? earlier.map((e) => logits[at(e)]).reduce((a, b) => tf.add(a, b)) : null;
    return errorCompensatedLoss(logits[at(m)], z, yb as tf.Tensor2D, lambdaEc);
  };
}

export async function trainChain(net: tf.LayersModel, xs: tf.Tensor, ys: tf.Tensor, o: ChainOptions): Promise<TrainResult> {
  const heads = modalityHeads(net);
  // The "no chain" ablation: one phase over every held modality at once, on the fused logits' cross-entropy.
  const joint = o.chain.order === 'joint';
  const order = joint ? [o.held] : chainOrderFor(o.chain.order, o.round, o.held).map((m) => [m]);
  const total: TrainResult = { epochLosses: [], batchLosses: [], steps: 0, trainMs: 0, samplesPerSec: 0 };
  let samples = 0;
  const budget = o.maxSteps ?? Infinity;
  for (let cycle = 0; cycle < o.chain.cycles; cycle++) {
    for (let i = 0; i < order.length && total.steps < budget; i++) {
      const phase = order[i];
      const r = await trainLocal(net, xs, ys, {
        epochs: o.chain.epochs,
        batchSize: o.batchSize,
        lr: o.lr,
        mu: o.mu,
        seed: deriveSeed(o.seed, 'chain', cycle, i),
        maxSteps: budget - total.steps,
        variables: trainableOf(net, phase, false),
        objective: joint ? undefined : chainObjective(heads, phase[0], order.slice(0, i).flat(), o.chain.lambdaEc),
        inputsForEpoch: o.inputsForEpoch,
        onEpoch: o.onEpoch,
        onStep: o.onStep ? (s) => o.onStep!(total.steps + s) : undefined,
      });
      total.epochLosses.push(...r.epochLosses);
      total.batchLosses = r.batchLosses;
      total.steps += r.steps;
      total.trainMs += r.trainMs;
      samples += (r.samplesPerSec * r.trainMs) / 1000;
    }
  }
  total.samplesPerSec = (samples * 1000) / Math.max(total.trainMs, 1e-3);
  return total;
}
