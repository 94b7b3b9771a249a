// LoRA on a frozen dense layer (spec §4 FedAlign, browser-feasible specification; Hu et al. 2021):
// PyTorch's W = W₀ + (α/r)·B·A (A [r, in], B [out, r]) becomes, in tfjs's [in, out] kernel convention,
// y = act(x·(W₀ + (α/r)·AᵀBᵀ) + b₀). Only A and B are trainable; W₀ (`kernel`) and b₀ (`bias`) are frozen.
// [I] choices:
//  - A ~ N(0, σ²) with default σ = 1/√(3·in): the variance of loralib's kaiming_uniform_(A, a=√5) = U(±1/√in),
//    drawn from a normal as the spec asks. B = 0, so the layer starts equal to the frozen dense layer.
//  - The forward pass uses the factored form x·W₀ + (α/r)·(x·Aᵀ)·Bᵀ: O(n·r·(in+out)) extra work instead of
//    building the [in, out] delta every step. mergeLora gives the merged kernel for inference.
//  - Weight names `lora_a` / `lora_b` (plus `kernel` / `bias`); shared/weights.ts initWeights draws lora_a from the
//    same N(0, σ²) and leaves lora_b at 0, so a federated run's initial weights keep B = 0.
import * as tf from '@tensorflow/tfjs';

export type LoraActivation = 'linear' | 'relu';

export interface LoraDenseArgs {
  name?: string;
  units: number;
  /** r (default 4, spec §4). */
  rank?: number;
  /** α (default 4, spec §4); the delta is scaled by α/r. */
  alpha?: number;
  activation?: LoraActivation;
  /** σ of A's normal initialisation; default 1/√(3·in), known only at build time. */
  initSigma?: number;
  /** Seed of A's (and the placeholder W₀'s) initialisation, so builds repeat. */
  seed: number;
  /** Any other Keras layer args (trainable, inputShape, …) pass through to tf.layers.Layer. */
  [key: string]: unknown;
}

type LayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0];

/** (α/r)·AᵀBᵀ: the LoRA delta in [in, out] kernel layout, from A [r, in] and B [out, r]. */
export function loraDelta(a: tf.Tensor2D, b: tf.Tensor2D, alpha: number, rank: number): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.matMul(a, b, true, true), alpha / rank));
}

export class LoraDense extends tf.layers.Layer {
  static className = 'FedtabLoraDense';
  readonly units: number;
  readonly rank: number;
  readonly alpha: number;
  readonly activation: LoraActivation;
  readonly initSigma: number | undefined;
  readonly seed: number;
  private kernel!: tf.LayerVariable;
  private bias!: tf.LayerVariable;
  private a!: tf.LayerVariable;
  private b!: tf.LayerVariable;

  constructor(args: LoraDenseArgs) {
    const { units, rank = 4, alpha = 4, activation = 'linear', initSigma, seed, ...rest } = args;
    super(rest as LayerArgs);
    if (!Number.isInteger(units) || units < 1) throw new Error(`LoraDense: units must be a positive integer, got ${units}`);
    if (!Number.isInteger(rank) || rank < 1) throw new Error(`LoraDense: rank must be a positive integer, got ${rank}`);
    if (activation !== 'linear' && activation !== 'relu') throw new Error(`LoraDense: unknown activation ${String(activation)}`);
    this.units = units;
    this.rank = rank;
    this.alpha = alpha;
    this.activation = activation;
    this.initSigma = initSigma;
    this.seed = seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    const din = shape[shape.length - 1];
    if (din === null) throw new Error('LoraDense needs a known input width');
    const sigma = this.initSigma ?? 1 / Math.sqrt(3 * din);
    // Trainable weights first, so trainableWeights (and the optimizer's variable list) is [A, B].
    this.a = this.addWeight('lora_a', [this.rank, din], 'float32', tf.initializers.randomNormal({ mean: 0, stddev: sigma, seed: this.seed }));
    this.b = this.addWeight('lora_b', [this.units, this.rank], 'float32', tf.initializers.zeros());
    // W₀ is meant to be loaded from the pre-trained model; the Glorot draw is a placeholder.
    this.kernel = this.addWeight('kernel', [din, this.units], 'float32', tf.initializers.glorotUniform({ seed: this.seed + 1 }), undefined, false);
    this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros(), undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const din = x.shape[x.shape.length - 1];
      const x2 = (x.rank === 2 ? x : tf.reshape(x, [-1, din])) as tf.Tensor2D;
      const frozen = tf.matMul(x2, this.kernel.read() as tf.Tensor2D);
      const low = tf.matMul(tf.matMul(x2, this.a.read() as tf.Tensor2D, false, true), this.b.read() as tf.Tensor2D, false, true);
      let y: tf.Tensor = tf.add(tf.add(frozen, tf.mul(low, this.alpha / this.rank)), this.bias.read());
      if (this.activation === 'relu') y = tf.relu(y);
      return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.units]);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    return [...s.slice(0, -1), this.units];
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      ...super.getConfig(), units: this.units, rank: this.rank, alpha: this.alpha, activation: this.activation, seed: this.seed,
    };
    if (this.initSigma !== undefined) config.initSigma = this.initSigma;
    return config;
  }

  /** The layer's variables (not copies: do not dispose them). Throws before build. */
  parts(): { kernel: tf.Tensor2D; bias: tf.Tensor1D; a: tf.Tensor2D; b: tf.Tensor2D } {
    if (!this.built) throw new Error(`LoraDense ${this.name}: not built yet`);
    return {
      kernel: this.kernel.read() as tf.Tensor2D,
      bias: this.bias.read() as tf.Tensor1D,
      a: this.a.read() as tf.Tensor2D,
      b: this.b.read() as tf.Tensor2D,
    };
  }
}

tf.serialization.registerClass(LoraDense);

/** W₀ + (α/r)·AᵀBᵀ [in, out]: the merged kernel, so inference can run a plain dense layer (caller disposes). */
export function mergeLora(layer: LoraDense): tf.Tensor2D {
  const { kernel, a, b } = layer.parts();
  return tf.tidy(() => tf.add(kernel, loraDelta(a, b, layer.alpha, layer.rank)));
}
