// SCAFFOLD (Karimireddy et al. 2020), option II (spec §2.3):
//   clients:  y ← y − η_l(g_k(y) − c_k + c),   upload c_k⁺ − c_k = −c + (w_t − y)/(τ_k η_l)
//   server:   Δ = mean_k(Δ_k)                         (unweighted over the received set S; then w ← w + η_g Δ)
//             c ← c + (|S|/K)·mean_k(c_k⁺ − c_k)       (K = numClients)
// The server keeps every slot's c_k as well (c_k ← c_k + (c_k⁺ − c_k) once an update is accepted) and sends it to
// that slot's client with each round, so a reloaded tab resumes with its control variate instead of zeros.
// c goes to everyone on the broadcast, c_k over the client's own port.
import { addVectors, applyStep, byClient, deltas, validateInput } from './common';
import { defineStrategy } from './strategy';
import { weightedSum } from './vector-math';

export interface ScaffoldState {
  /** Server control variate c; null means all zeros. */
  control: Float32Array | null;
  /** c_k per slot (absent: zeros). */
  clientControls: Readonly<Record<number, Float32Array>>;
}

const who = 'scaffold';

export const scaffold = defineStrategy({
  name: who,
  summary: 'option II with control variates: the round carries c (and each client’s c_k), clients step with g − c_k + c and send c_k⁺ − c_k (§2.3)',
  params: {},
  keepsPartialWork: true,
  client: () => ({ controlVariates: true }),
  payload: { broadcast: ['control'], perSlot: ['clientControl'], upload: ['controlDelta'] },
  create: () => ({
    name: who,
    initState: (): ScaffoldState => ({ control: null, clientControls: {} }),
    // Before the first aggregation c = 0 and c_k = 0, which clients assume when the round carries none.
    configureRound(state: ScaffoldState, ctx) {
      const perSlot: Record<number, Record<string, Float32Array>> = {};
      for (const s of ctx.slots) {
        const ck = state.clientControls[s];
        if (ck) perSlot[s] = { clientControl: ck.slice() };
      }
      return { ...(state.control ? { broadcast: { control: state.control.slice() } } : {}), perSlot };
    },
    aggregate(input, state: ScaffoldState) {
      validateInput(who, input);
      const { updates, global, numClients } = input;
      const s = updates.length;
      if (s > numClients) throw new Error(`${who}: ${s} updates but numClients (K) = ${numClients}; need |S| <= K`);
      const controls: Float32Array[] = [];
      for (const u of updates) {
        const cd = u.extras?.controlDelta;
        if (!cd) throw new Error(`${who}: client '${u.clientId}' sent no controlDelta (c_k⁺ − c_k)`);
        if (cd.length !== global.length) throw new Error(`${who}: client '${u.clientId}' controlDelta has ${cd.length} values, global model has ${global.length}`);
        controls.push(cd);
      }
      const prev = state.control;
      if (prev && prev.length !== global.length) throw new Error(`${who}: state control variate has ${prev.length} values, global model has ${global.length}`);
      const uniform = new Array<number>(s).fill(1 / s);
      // c + (|S|/K)·(1/|S|)·Σ_k controlDelta_k = c + (1/K)·Σ_k controlDelta_k
      const cStep = weightedSum(controls, new Array<number>(s).fill(1 / numClients));
      const control = applyStep(prev ?? new Float32Array(global.length), cStep, 1);
      const clientControls = { ...state.clientControls };
      updates.forEach((u, k) => (clientControls[u.slot] = addVectors(state.clientControls[u.slot] ?? null, controls[k])));
      return {
        result: { step: weightedSum(deltas(updates), uniform), clientWeights: byClient(updates, uniform), flagged: [] },
        state: { control, clientControls },
      };
    },
  }),
});
