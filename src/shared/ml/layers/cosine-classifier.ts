// FedAlign's classifier (spec §4): logits ℓ_c = s·cos(v, z_c), s = 1/τ, against class ("text") features z_c that the
// model does not train: they are a non-trainable weight (`classes`, [C, d]) the server's text encoder sets, so they
// never enter the federated weight vector or a client's update.
import * as tf from '@tensorflow/tfjs';
import { cosineLogits } from '../alignment';

export interface CosineClassifierArgs {
  name?: string;
  classes: number;
  /** τ (spec: 0.07, CLIP's initial temperature). */
  tau?: number;
}

export class CosineClassifier extends tf.layers.Layer {
  static className = 'FedtabCosineClassifier';
  readonly classes: number;
  readonly tau: number;
  private z!: tf.LayerVariable;

  constructor(args: CosineClassifierArgs) {
    super({ name: args.name, trainable: false });
    this.classes = args.classes;
    this.tau = args.tau ?? 0.07;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    const d = shape[shape.length - 1];
    if (d === null) throw new Error('CosineClassifier needs a known feature width');
    this.z = this.addWeight('classes', [this.classes, d], 'float32', tf.initializers.zeros(), undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => cosineLogits((Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D, this.z.read() as tf.Tensor2D, this.tau));
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    return [...s.slice(0, -1), this.classes];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), classes: this.classes, tau: this.tau };
  }

  /** Sets z_c ([C·d] row-major); the values are copied. */
  setClassFeatures(z: Float32Array): void {
    const [c, d] = this.z.shape as number[];
    if (z.length !== c * d) throw new Error(`CosineClassifier ${this.name}: ${z.length} class-feature values, expected ${c}×${d}`);
    const t = tf.tensor2d(z.slice(), [c, d]);
    this.z.write(t);
    t.dispose();
  }

  classFeatures(): Float32Array {
    return (this.z.read().dataSync() as Float32Array).slice();
  }
}

tf.serialization.registerClass(CosineClassifier);
