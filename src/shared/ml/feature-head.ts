// What can sit between a model's body and its classifier (FedAKD, spec §6): kept free of TensorFlow.js because the
// config schema and the strategy definitions name these values.
export const FEATURE_HEADS = ['none', 'feature', 'pooling'] as const;
export type FeatureHead = (typeof FEATURE_HEADS)[number];
