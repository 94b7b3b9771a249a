// FedAvg (McMahan et al. 2017): w_{t+1} = w_t + Σ_k (n_k / n) Δ_k with Δ_k = w_k − w_t and n = Σ_k n_k.

export interface ClientUpdate {
  clientId: string;
  numSamples: number;
  delta: Float32Array;
}

export function fedAvg(
  global: Float32Array,
  updates: readonly ClientUpdate[],
): { weights: Float32Array; clientWeights: Record<string, number> } {
  if (updates.length === 0) throw new Error('fedAvg: no client updates to aggregate');
  let n = 0;
  const seen = new Set<string>();
  for (const u of updates) {
    if (!(u.numSamples > 0) || !Number.isFinite(u.numSamples)) {
      throw new Error(`fedAvg: client '${u.clientId}' has numSamples=${u.numSamples}; must be a finite number > 0`);
    }
    if (u.delta.length !== global.length) {
      throw new Error(`fedAvg: client '${u.clientId}' delta has ${u.delta.length} values, global model has ${global.length}`);
    }
    if (seen.has(u.clientId)) throw new Error(`fedAvg: duplicate update from client '${u.clientId}'`);
    seen.add(u.clientId);
    n += u.numSamples;
  }
  // Float64 accumulator: summing many float32 deltas in float32 loses the small ones.
  const acc = new Float64Array(global.length);
  const clientWeights: Record<string, number> = {};
  for (const u of updates) {
    const p = u.numSamples / n;
    clientWeights[u.clientId] = p;
    const d = u.delta;
    for (let i = 0; i < acc.length; i++) acc[i] += p * d[i];
  }
  const weights = new Float32Array(global.length);
  for (let i = 0; i < weights.length; i++) weights[i] = global[i] + acc[i];
  return { weights, clientWeights };
}
