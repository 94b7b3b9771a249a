// The coordinator's tf work on a loaded dataset: evaluate the global model, train FLTrust's root update, score
// updates on the server validation split. No browser APIs, so the Node runtime uses it as it is.
import * as tf from '@tensorflow/tfjs';
import { TARGET_LABEL, TARGET_SOURCE } from '../shared/targeted-attack';
import type { Dataset } from '../shared/data/dataset-store';
import { channelsOf } from '../shared/data/paired-dataset';
import { imageAsInput } from '../shared/data/images';
import { isMultimodal, unimodalAccuracy } from '../shared/ml/architectures/multimodal';
import { applyModelExtras, isLoraModel } from '../shared/ml/architectures/cnn-s-lora';
import { buildRunModel, evaluate, getFlatWeights, imagesToTensor, labelsToOneHot, layerSpecs, pickImages, setFlatWeights } from '../shared/ml/models';
import { trainLocal } from '../shared/ml/train';
import { ATTENTION_IMAGES, firstOfEachClass, hasAttention, readAttention } from '../shared/ml/attention-images';
import type { FederationConfig } from '../shared/config';
import { attackSuccessRate } from '../shared/metrics';
import { deriveSeed } from '../shared/prng';
import { proxySplit, serverHoldout } from '../shared/run-plan';
import type { DistillNeeds } from '../shared/strategies/strategy';
import { serverDistill } from './server-distill';
import { serialQueue } from '../shared/serial';
import { subtract } from '../shared/weights';
import type { Task } from './types';

/** `dataset` needs train labels and the test split; train images too for fltrust or a validation split. */
export function createTask(dataset: Dataset, config: FederationConfig): Task {
  const model = buildRunModel(config);
  const n = config.evalSamples > 0 ? Math.min(config.evalSamples, dataset.test.count) : dataset.test.count;
  const testImages = dataset.test.images.subarray(0, n * 28 * 28 * channelsOf(dataset));
  const multimodal = isMultimodal(model);
  const testLabels = dataset.test.labels.subarray(0, n);
  const attentive = hasAttention(model);
  // cnn-s-lora: the class features z_c a FedAlign round carries; its LoRA baselines keep the model's own.
  const lora = isLoraModel(model);
  const attentionIdx = firstOfEachClass(dataset.test.labels, ATTENTION_IMAGES);
  const holdout = () => serverHoldout(dataset.train.labels, dataset.numClasses, config.seed);
  const needImages = () => {
    if (dataset.train.images.length === 0) throw new Error('the coordinator loaded no training images');
  };
  // One model serves every call, and a call awaits between batches: calls queue so none sets weights under another,
  // and dispose waits for the ones in flight (a reset during an evaluation must not free the model it is using).
  const queue = serialQueue();
  let proxy: tf.Tensor4D | null = null;
  // The server validation split's images and labels, gathered once for every round that scores or distils on it.
  let validation: { images: Uint8Array; labels: Uint8Array } | null = null;
  const validationSet = () => {
    needImages();
    const idx = holdout().validation;
    return (validation ??= { images: pickImages(dataset.train.images, idx), labels: Uint8Array.from(idx, (i) => dataset.train.labels[i]) });
  };
  const serial = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A): Promise<R> => queue(() => fn(...args));
  return {
    numClasses: dataset.numClasses,
    trainLabels: dataset.train.labels,
    layers: layerSpecs(model),
    evaluate: serial(async (weights: Float32Array, extras?: Readonly<Record<string, Float32Array>>) => {
      setFlatWeights(model, weights);
      if (lora) applyModelExtras(model, extras);
      const r = await evaluate(model, testImages, testLabels);
      return {
        accuracy: r.accuracy,
        loss: r.loss,
        recall: r.recall,
        confusion: r.confusion,
        targetedAsr: attackSuccessRate(r.confusion, TARGET_SOURCE, TARGET_LABEL),
        unimodalAccuracy: multimodal ? await unimodalAccuracy(model, testImages, testLabels) : null,
        numTensors: tf.memory().numTensors,
      };
    }),
    attention: serial(async (weights: Float32Array) => {
      if (!attentive) return null;
      setFlatWeights(model, weights);
      return readAttention(model, dataset.test.images, dataset.test.labels, attentionIdx);
    }),
    predict: serial(async (weights: Float32Array, image: Uint8Array, extras?: Readonly<Record<string, Float32Array>>) => {
      setFlatWeights(model, weights);
      if (lora) applyModelExtras(model, extras);
      const channels = channelsOf(dataset);
      const p = tf.tidy(() => tf.softmax(model.predict(imagesToTensor(imageAsInput(image, channels), undefined, channels)) as tf.Tensor2D));
      const out = Array.from(await p.data());
      p.dispose();
      return out;
    }),
    rootUpdate: serial(async (weights: Float32Array, round: number) => {
      needImages();
      const idx = holdout().root;
      const xs = imagesToTensor(dataset.train.images, idx);
      const ys = labelsToOneHot(dataset.train.labels, idx);
      try {
        setFlatWeights(model, weights);
        await trainLocal(model, xs, ys, {
          epochs: config.epochs,
          batchSize: config.batchSize,
          lr: config.lr,
          mu: 0,
          seed: deriveSeed(config.seed, 'root', round),
        });
        return subtract(getFlatWeights(model), weights);
      } finally {
        tf.dispose([xs, ys]);
      }
    }),
    validationLosses: serial(async (list: Float32Array[], samples: number) => {
      const v = validationSet();
      const images = v.images.subarray(0, samples * 784);
      const labels = v.labels.subarray(0, samples);
      const out: number[] = [];
      for (const w of list) {
        setFlatWeights(model, w);
        out.push((await evaluate(model, images, labels)).loss);
      }
      return out;
    }),
    distill: serial(async (average: Float32Array, clients: Float32Array[], round: number, budget: DistillNeeds) => {
      needImages();
      const { proxy: proxyIdx } = proxySplit(dataset.train.labels, dataset.numClasses, config);
      if (proxyIdx.length === 0) throw new Error('server distillation needs a proxy split (proxySamples > 0)');
      proxy ??= imagesToTensor(dataset.train.images, proxyIdx);
      return serverDistill({
        model,
        average,
        clients,
        proxy,
        validation: validationSet(),
        steps: budget.steps,
        patience: budget.patience,
        seed: deriveSeed(config.seed, 'distill', round),
      });
    }),
    dispose: () =>
      void serial(async () => {
        model.dispose();
        proxy?.dispose();
      })(),
  };
}
