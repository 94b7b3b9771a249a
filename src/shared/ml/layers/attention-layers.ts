// Keras layers around the gates of attention-ops.ts (spec §3 CBAM / ECA modules, §6 FedAKD feature attention).
// Their weights are ordinary trainable weights, so they are packed, sent and aggregated like every other layer.
// Weight names end in `kernel` or `bias`, which is what initWeights keys its Glorot / zero initialisation on.
import * as tf from '@tensorflow/tfjs';
import {
  attendFeatures,
  attentionPool,
  channelConvGate,
  channelMlpGate,
  featureAttentionWeights,
  poolingAttentionWeights,
  spatialGate,
} from './attention-ops';

type Shape = (number | null)[];
const glorot = () => tf.initializers.glorotUniform({ seed: 1 });
const first = (inputs: tf.Tensor | tf.Tensor[]) => (Array.isArray(inputs) ? inputs[0] : inputs);
const lastDim = (s: tf.Shape | tf.Shape[]) => {
  const shape = (Array.isArray(s[0]) ? s[0] : s) as Shape;
  const c = shape[shape.length - 1];
  if (c === null) throw new Error('attention layers need a known channel count');
  return c;
};

/** F ⊙ M_c: every channel of x scaled by its gate ([b, C]). */
function scaleChannels(x: tf.Tensor4D, gate: (x: tf.Tensor4D) => tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => {
    const [b, , , c] = x.shape;
    return tf.mul(x, tf.reshape(gate(x), [b, 1, 1, c]));
  });
}

/** An attention layer that can also report its gate for a given input: what the dashboard draws. */
export interface AttentionLayer {
  /** The attention weights the layer applies to `input` (a tensor the caller disposes). */
  gate(input: tf.Tensor): tf.Tensor;
}

/** CBAM channel attention with the shared MLP (CA-MLP), hidden width ⌊C/r⌋. */
export class ChannelAttentionMlp extends tf.layers.Layer implements AttentionLayer {
  static className = 'FedtabChannelAttentionMlp';
  readonly reduction: number;
  private w!: tf.LayerVariable[];
  constructor(args: { name: string; reduction: number }) {
    super({ name: args.name });
    this.reduction = args.reduction;
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = lastDim(inputShape);
    const hidden = Math.max(1, Math.floor(c / this.reduction));
    this.w = [
      this.addWeight('hidden_kernel', [c, hidden], 'float32', glorot()),
      this.addWeight('hidden_bias', [hidden], 'float32', tf.initializers.zeros()),
      this.addWeight('out_kernel', [hidden, c], 'float32', glorot()),
      this.addWeight('out_bias', [c], 'float32', tf.initializers.zeros()),
    ];
    this.built = true;
  }
  gate(input: tf.Tensor): tf.Tensor2D {
    const [w0, b0, w1, b1] = this.w.map((v) => v.read());
    return channelMlpGate(input as tf.Tensor4D, w0 as tf.Tensor2D, b0 as tf.Tensor1D, w1 as tf.Tensor2D, b1 as tf.Tensor1D);
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return scaleChannels(first(inputs) as tf.Tensor4D, (x) => this.gate(x));
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), reduction: this.reduction };
  }
}

/** ECA-style channel attention without an MLP (CA-noMLP): a k-tap conv1d across the pooled channels. */
export class ChannelAttentionConv extends tf.layers.Layer implements AttentionLayer {
  static className = 'FedtabChannelAttentionConv';
  readonly kernelSize: number;
  private kernel!: tf.LayerVariable;
  constructor(args: { name: string; kernelSize: number }) {
    super({ name: args.name });
    this.kernelSize = args.kernelSize;
  }
  override build(): void {
    this.kernel = this.addWeight('kernel', [this.kernelSize, 1, 1], 'float32', glorot());
    this.built = true;
  }
  gate(input: tf.Tensor): tf.Tensor2D {
    return channelConvGate(input as tf.Tensor4D, this.kernel.read() as tf.Tensor3D);
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return scaleChannels(first(inputs) as tf.Tensor4D, (x) => this.gate(x));
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kernelSize: this.kernelSize };
  }
}

/** CBAM spatial attention: a k×k conv over [mean_c; max_c], one gate per position. */
export class SpatialAttention extends tf.layers.Layer implements AttentionLayer {
  static className = 'FedtabSpatialAttention';
  readonly kernelSize: number;
  private kernel!: tf.LayerVariable;
  private bias!: tf.LayerVariable;
  constructor(args: { name: string; kernelSize: number }) {
    super({ name: args.name });
    this.kernelSize = args.kernelSize;
  }
  override build(): void {
    const k = this.kernelSize;
    this.kernel = this.addWeight('kernel', [k, k, 2, 1], 'float32', glorot());
    this.bias = this.addWeight('bias', [1], 'float32', tf.initializers.zeros());
    this.built = true;
  }
  gate(input: tf.Tensor): tf.Tensor4D {
    return spatialGate(input as tf.Tensor4D, this.kernel.read() as tf.Tensor4D, this.bias.read() as tf.Tensor1D);
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs) as tf.Tensor4D;
      return tf.mul(x, this.gate(x));
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kernelSize: this.kernelSize };
  }
}

/** FedAKD feature attention on the penultimate features: f̃ = d·(softmax(f W) ⊙ f). */
export class FeatureAttention extends tf.layers.Layer implements AttentionLayer {
  static className = 'FedtabFeatureAttention';
  private kernel!: tf.LayerVariable;
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = lastDim(inputShape);
    this.kernel = this.addWeight('kernel', [d, d], 'float32', glorot());
    this.built = true;
  }
  gate(input: tf.Tensor): tf.Tensor2D {
    return featureAttentionWeights(input as tf.Tensor2D, this.kernel.read() as tf.Tensor2D);
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return attendFeatures(first(inputs) as tf.Tensor2D, this.kernel.read() as tf.Tensor2D);
  }
}

/** FedAKD's variant: attention pooling over the positions of the last conv map, [b, H, W, C] → [b, C]. */
export class AttentionPooling extends tf.layers.Layer implements AttentionLayer {
  static className = 'FedtabAttentionPooling';
  private kernel!: tf.LayerVariable;
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    this.kernel = this.addWeight('kernel', [lastDim(inputShape), 1], 'float32', glorot());
    this.built = true;
  }
  gate(input: tf.Tensor): tf.Tensor2D {
    return poolingAttentionWeights(input as tf.Tensor4D, this.kernel.read() as tf.Tensor2D);
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return attentionPool(first(inputs) as tf.Tensor4D, this.kernel.read() as tf.Tensor2D);
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [s[0], s[s.length - 1]];
  }
}

for (const cls of [ChannelAttentionMlp, ChannelAttentionConv, SpatialAttention, FeatureAttention, AttentionPooling]) {
  tf.serialization.registerClass(cls);
}

export function isAttentionLayer(layer: tf.layers.Layer): layer is tf.layers.Layer & AttentionLayer {
  return typeof (layer as Partial<AttentionLayer>).gate === 'function';
}
