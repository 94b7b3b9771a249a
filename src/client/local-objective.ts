// The local objective a strategy asks of its clients (spec §6): cross-entropy, FedAKD's CE + λτ²KL(teacher ‖ student)
// (+ β·attention transfer), FedNTD's not-true distillation, or logit-adjusted CE. The teacher is the frozen global
// model w_t: its logits (and attention) on every local sample are computed once before training, which is exact
// (no augmentation) and cheaper than a second model's forward pass at every step.
import * as tf from '@tensorflow/tfjs';
import { logitsWithHeadAttention } from '../shared/ml/attention-probe';
import { attentionTransferLoss, crossEntropy, distillationLoss, logitAdjustedLoss, logPrior, notTrueDistillationLoss } from '../shared/ml/losses';
import type { Objective } from '../shared/ml/train';
import { yieldToEventLoop } from '../shared/ml/yield';
import type { ClientSide } from '../shared/strategies/strategy';

export interface TeacherTargets {
  /** z^g, [n, classes]. */
  logits: tf.Tensor2D;
  /** a^g of the FedAKD head, [n, d]; only for the attention-transfer term. */
  attention: tf.Tensor2D | null;
}

/** The teacher's outputs on xs with `net` holding w_t (call before training); the caller disposes them. */
export async function teacherTargets(net: tf.LayersModel, xs: tf.Tensor, withAttention: boolean, batch = 500): Promise<TeacherTargets> {
  const n = xs.shape[0];
  const logits: tf.Tensor[] = [];
  const attention: tf.Tensor[] = [];
  for (let s = 0; s < n; s += batch) {
    const size = Math.min(batch, n - s);
    const [z, a] = tf.tidy(() => {
      const x = tf.slice(xs, s, size);
      if (!withAttention) return [net.predict(x) as tf.Tensor2D];
      const out = logitsWithHeadAttention(net, x, false);
      return [out.logits, out.attention];
    });
    logits.push(z);
    if (a) attention.push(a);
    await yieldToEventLoop();
  }
  const cat = (parts: tf.Tensor[]) => {
    const t = tf.concat(parts) as tf.Tensor2D;
    tf.dispose(parts);
    return t;
  };
  return { logits: cat(logits), attention: withAttention ? cat(attention) : null };
}

/** Whether the strategy's clients need the teacher's outputs, and its attention too. */
export function teacherNeeds(side: ClientSide): { logits: boolean; attention: boolean } {
  const d = side.distill;
  return { logits: !!d, attention: d?.kind === 'kd' && d.attentionTransfer > 0 };
}

/**
 * The objective for `side`, or undefined for plain cross-entropy. `teacher` must hold what teacherNeeds asks;
 * `classCounts` (the run's global training class counts) is needed for logit adjustment.
 */
export function localObjective(side: ClientSide, teacher: TeacherTargets | null, classCounts: readonly number[] | null): { objective?: Objective; dispose(): void } {
  const d = side.distill;
  if (d) {
    if (!teacher) throw new Error(`${d.kind === 'kd' ? 'FedAKD' : 'FedNTD'} needs the teacher's logits`);
    const at = d.kind === 'kd' && d.attentionTransfer > 0 ? d.attentionTransfer : 0;
    if (at > 0 && !teacher.attention) throw new Error("the attention-transfer term needs the teacher's attention");
    const objective: Objective = (model, xb, yb, rows) => {
      const zt = tf.gather(teacher.logits, rows);
      // The student's attention only when the attention-transfer term needs it (the probe throws without a head).
      const { logits: z, attention: a } = at > 0 ? logitsWithHeadAttention(model, xb, true) : { logits: model.apply(xb, { training: true }) as tf.Tensor, attention: null };
      const ce = crossEntropy(yb, z);
      if (d.kind === 'ntd') return tf.add(ce, tf.mul(d.beta, notTrueDistillationLoss(yb, zt, z, d.tau))) as tf.Scalar;
      const kd = tf.add(ce, tf.mul(d.lambda, distillationLoss(zt, z, d.tau))) as tf.Scalar;
      return a ? (tf.add(kd, tf.mul(at, attentionTransferLoss(a, tf.gather(teacher.attention!, rows)))) as tf.Scalar) : kd;
    };
    return { objective, dispose: () => undefined };
  }
  if (side.logitAdjust !== undefined && side.logitAdjust > 0) {
    if (!classCounts) throw new Error("logit adjustment needs the round's class counts");
    const lp = tf.tensor1d(logPrior(classCounts));
    const tau = side.logitAdjust;
    return {
      objective: (model, xb, yb) => logitAdjustedLoss(yb, model.apply(xb, { training: true }) as tf.Tensor, lp, tau),
      dispose: () => lp.dispose(),
    };
  }
  return { dispose: () => undefined };
}
