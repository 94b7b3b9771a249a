// Federated evaluation (Flower's configure_evaluate / aggregate_evaluate): every client holding a slot (up to 1,024)
// evaluates the round's global model on its own held-out split; the coordinator reports the distribution, not just a
// mean, since a model that is fine on average can fail some clients badly under non-IID data.
import { MAX_BROADCAST_CLIENTS } from '../broadcast-limits';
import type { ClientEvaluation, FederatedEvaluation } from '../status';

/**
 * The clients that evaluate a round's model (client → slot): every slot holder, or with more holders than one
 * broadcast can sign for (MAX_BROADCAST_CLIENTS), that many spread evenly over the slots.
 */
export function evaluators(holders: ReadonlyArray<string | null>, max = MAX_BROADCAST_CLIENTS): Record<string, number> {
  const held = holders.flatMap((id, slot) => (id !== null ? [[id, slot] as const] : []));
  const picked = held.length <= max ? held : Array.from({ length: max }, (_, i) => held[Math.floor((i * held.length) / max)]);
  return Object.fromEntries(picked);
}

/** Mean, worst 10% (at least one client) and minimum accuracy over the clients that replied. */
export function summarizeEvaluations(clients: readonly ClientEvaluation[], asked: number): FederatedEvaluation | null {
  const usable = clients.filter((c) => c.numSamples > 0);
  if (usable.length === 0) return null;
  const accs = usable.map((c) => c.accuracy).sort((a, b) => a - b);
  const worst = accs.slice(0, Math.max(1, Math.ceil(accs.length * 0.1)));
  const n = usable.reduce((s, c) => s + c.numSamples, 0);
  return {
    clients: [...clients],
    asked,
    meanAccuracy: accs.reduce((s, x) => s + x, 0) / accs.length,
    worst10Accuracy: worst.reduce((s, x) => s + x, 0) / worst.length,
    minAccuracy: accs[0],
    meanLoss: usable.reduce((s, c) => s + c.loss * c.numSamples, 0) / n,
  };
}
