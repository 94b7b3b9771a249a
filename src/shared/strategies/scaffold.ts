// SCAFFOLD (Karimireddy et al. 2020), option II, server side (spec §2.3):
//   w ← w + η_g · mean_k(Δ_k)                    (unweighted mean over the received set S)
//   c ← c + (|S|/K) · mean_k(c_k⁺ − c_k)          (K = numClients)
// The clients run y ← y − η_l(g_k(y) − c_k + c) and send controlDelta = c_k⁺ − c_k alongside Δ_k = y_k − w.
// State: the server control variate c (null = zeros, before the first round).
import type { ResolvedParams, Strategy } from './strategy';
import { applyStep, byClient, deltas, validateInput } from './common';
import { weightedSum } from './vector-math';

export interface ScaffoldState {
  /** Server control variate c; null means all zeros. */
  control: Float32Array | null;
}

export function scaffoldStrategy(params: ResolvedParams): Strategy<ScaffoldState> {
  const who = 'scaffold';
  return {
    name: who,
    initState: () => ({ control: null }),
    // Before the first aggregation c = 0, which clients assume when the round carries no control.
    roundPayload: (state) => (state.control ? { control: state.control.slice() } : {}),
    aggregate(input, state) {
      validateInput(who, input);
      const { updates, global, numClients } = input;
      const s = updates.length;
      if (s > numClients) throw new Error(`${who}: ${s} updates but numClients (K) = ${numClients}; need |S| <= K`);
      const controls: Float32Array[] = [];
      for (const u of updates) {
        if (!u.controlDelta) throw new Error(`${who}: client '${u.clientId}' sent no controlDelta (c_k⁺ − c_k)`);
        if (u.controlDelta.length !== global.length) {
          throw new Error(`${who}: client '${u.clientId}' controlDelta has ${u.controlDelta.length} values, global model has ${global.length}`);
        }
        controls.push(u.controlDelta);
      }
      const prev = state.control;
      if (prev && prev.length !== global.length) {
        throw new Error(`${who}: state control variate has ${prev.length} values, global model has ${global.length}`);
      }
      const uniform = new Array<number>(s).fill(1 / s);
      const weights = applyStep(global, weightedSum(deltas(updates), uniform), params.serverLr);
      // c + (|S|/K)·(1/|S|)·Σ_k controlDelta_k = c + (1/K)·Σ_k controlDelta_k
      const cStep = weightedSum(controls, new Array<number>(s).fill(1 / numClients));
      const control = new Float32Array(global.length);
      for (let i = 0; i < control.length; i++) control[i] = (prev ? prev[i] : 0) + cStep[i];
      return {
        result: { weights, clientWeights: byClient(updates, uniform), flagged: [], serverControl: control.slice() },
        state: { control },
      };
    },
  };
}
