// Plain words for the config form (issue 10, "plain words"): a label a student understands and a one-line help shown
// under every field, keyed by config key. The key itself and the schema's technical help stay in the field's tooltip.
import type { FederationConfig } from '../shared/config';

export interface FieldText {
  /** What the field is, in words a student knows (the technical symbol in brackets where it helps). */
  label: string;
  /** One short line under the field: what changing it does. */
  help: string;
}

/** Every config key's label and help; a Record, so a new key without words fails to compile. */
export const FIELD_TEXT: Readonly<Record<keyof FederationConfig, FieldText>> = {
  // Data
  dataset: { label: 'Pictures to learn', help: 'Handwritten digits (MNIST), clothes (Fashion-MNIST), or both paired' },
  model: { label: 'Model (the neural network)', help: 'cnn = convolutional, 2nn = dense, cnn-s-lora = pre-trained, tunes small add-ons' },
  partition: { label: 'How the data is split', help: 'iid: everyone gets a fair mix; the others give clients different data' },
  alpha: { label: 'Unevenness α', help: 'Smaller = more uneven: 0.1 gives each client mostly a few classes' },
  shardsPerClient: { label: 'Slices per client', help: 'Data sorted by class, cut in slices; each client gets this many' },
  labelsPerClient: { label: 'Classes per client', help: 'Each client only ever sees this many different classes' },
  beta: { label: 'Size unevenness β', help: 'How different the amounts of data are: smaller = more uneven' },
  imbalanceFactor: { label: 'Common vs rare class (×)', help: 'The commonest class has this many times the rarest one’s images' },
  dataFraction: { label: 'Share of the data used', help: '1 = the whole training set; 0.1 = a tenth, for a quicker run' },
  maxSamples: { label: 'Most images per client', help: 'Caps each client’s data to keep rounds short (0 = no cap)' },
  modalityNoise: { label: 'Noise on clothes pictures', help: 'Makes the second kind of picture harder to read (0 = none)' },
  ogmAlpha: { label: 'Balance both kinds (OGM-GE)', help: 'Slows the stronger kind so the weaker one learns too (0 = off)' },
  modalityBoth: { label: 'Share holding both kinds', help: 'Clients that hold digits and clothes pictures together' },
  modalityMnistOnly: { label: 'Share with digits only', help: 'The clients left over hold only clothes pictures' },
  proxySamples: { label: 'Server’s unlabelled images', help: 'Kept back from all clients for the server to distil on (FedDF)' },
  localEval: { label: 'Share kept back for testing', help: 'Part of each client’s data the global model is scored on (0 = none)' },
  evalSamples: { label: 'Test images to score on', help: 'How many test images judge the global model (0 = all of them)' },
  evalEvery: { label: 'Test every N rounds', help: 'Testing takes time; the last round is always tested' },
  // Training
  rounds: { label: 'Rounds', help: 'How often the model goes out to the clients and comes back combined' },
  epochs: { label: 'Passes over own data', help: 'Times each client goes through its images in one round' },
  batchSize: { label: 'Images per training step', help: 'A client learns from this many images at a time' },
  lr: { label: 'Learning speed (rate)', help: 'Size of each training step; too big and learning goes wild' },
  clients: { label: 'Clients to wait for', help: 'Round 1 starts once this many have joined (0 = whoever is here)' },
  enrollment: { label: 'When students join', help: 'Wait for everyone, or start with the fewest; late joiners fill free slots' },
  minClients: { label: 'Fewest clients for a round', help: 'A round waits until at least this many can train' },
  fraction: { label: 'Share of clients per round', help: '1 = everyone trains every round; 0.5 = a random half' },
  roundDeadlineMs: { label: 'Round time limit (ms)', help: 'Clients that have not answered by then are left out' },
  seed: { label: 'Random seed', help: 'Same seed, same split and same start: a run you can repeat' },
  backend: { label: 'Compute engine', help: 'How clients do the maths; auto picks the fastest that works' },
  // Aggregation strategy
  algorithm: { label: 'How updates are combined', help: 'fedavg = weighted average; others resist bad clients or skewed data' },
  serverOpt: { label: 'Server’s update rule', help: 'sgd applies the average as is; the others smooth it over rounds' },
  serverLr: { label: 'Server step size', help: 'How far the server moves toward the average (0 = rule’s default)' },
  serverMomentum: { label: 'Server momentum', help: 'How much of earlier rounds’ direction the server keeps' },
  serverBeta1: { label: 'Memory of direction (β1)', help: 'How slowly the server forgets past update directions' },
  serverBeta2: { label: 'Memory of size (β2)', help: 'How slowly the server forgets past update sizes' },
  serverEps: { label: 'Server caution (τ)', help: 'Larger = steadier, less adaptive server steps' },
  mu: { label: 'Pull to global model (μ)', help: 'Keeps each client from drifting far from the shared model' },
  epsilon: { label: 'Step toward clients (ε)', help: 'How far the server moves toward the clients’ models' },
  noise: { label: 'Noise on the step (β)', help: 'Random noise added to the server’s step, for privacy' },
  tau: { label: 'Attention sharpness (τ)', help: 'Lower = typical updates count much more; Infinity = all equal' },
  gate: { label: 'Ignore wrong-way updates', help: 'Drops an update that points against the common direction' },
  reference: { label: '“Common direction” is', help: 'Last round’s step, the median update, or the server’s own update' },
  attention: { label: 'Weigh updates by agreement', help: 'Updates that agree with the common direction count more' },
  weighting: { label: 'Weigh by reliability', help: 'Clients with odd losses or sizes count less over time' },
  reliabilityThreshold: { label: 'Leave out below reliability', help: 'A client whose reliability ρ falls under this is left out' },
  emaDecay: { label: 'Memory of reliability', help: 'Closer to 1 = a client’s score changes more slowly' },
  gammaDelta: { label: 'Penalty: odd loss (γ_δ)', help: 'How much a surprising training loss lowers reliability' },
  gammaV: { label: 'Penalty: jumpy losses (γ_v)', help: 'How much uneven batch losses lower reliability' },
  gammaN: { label: 'Penalty: huge update (γ_n)', help: 'How much an unusually large update lowers reliability' },
  clipToMedian: { label: 'Shrink oversized updates', help: 'No update may be bigger than the typical (median) one' },
  validation: { label: 'Server check images', help: 'The server tries each update on this many images (0 = off)' },
  gammaVal: { label: 'Penalty: fails check (γ_val)', help: 'How much worsening the server’s check lowers reliability' },
  q: { label: 'Fairness (q)', help: 'Higher = clients doing badly count more (0 = plain average)' },
  byzantine: { label: 'Bad clients to expect (f)', help: 'Ignores the f updates that look least like the rest' },
  multiKrumM: { label: 'Updates averaged (m)', help: 'Averages the m most typical updates (0 = all but f)' },
  trimBeta: { label: 'Share cut at each end', help: 'Drops the highest and lowest values before averaging' },
  clipNorm: { label: 'Biggest update allowed', help: 'Bigger updates are shrunk to this size (0 = the median size)' },
  clipNoise: { label: 'Noise on the average', help: 'Random noise on the combined update, for privacy (0 = none)' },
  laTau: { label: 'Rare-class correction (τ)', help: 'Shifts answers toward classes a client rarely sees' },
  ntdBeta: { label: 'Keep global knowledge (β)', help: 'Weight of learning from the global model on other classes' },
  ntdTemperature: { label: 'Softness of the hints (τ)', help: 'Higher = the global model’s hints are softer' },
  kdLambda: { label: 'Copy the global model (λ)', help: 'Weight of matching the global model’s answers' },
  kdTemperature: { label: 'Softness of copying (τ)', help: 'Higher = softer hints from the global model' },
  attentionTransfer: { label: 'Copy where it looks (β)', help: 'Weight of matching the global model’s attention (0 = off)' },
  akdAttention: { label: 'Attention to copy', help: 'feature: on the last features; pooling: on the last picture map' },
  serverDistill: { label: 'Server polishes the average', help: 'The server distils the average on its unlabelled images' },
  distillSteps: { label: 'Polishing steps', help: 'Most steps the server polishes per round' },
  distillPatience: { label: 'Stop polishing after', help: 'Steps without improvement before the server stops' },
  sscaThreshold: { label: 'Merge similar updates below', help: 'Groups updates whose signs mostly agree' },
  sscaLr: { label: 'Step on merged updates', help: 'How far the server moves with the merged updates' },
  chainOrder: { label: 'Order of the two kinds', help: 'Weakest last, take turns, or both together' },
  chainEpochs: { label: 'Passes per kind of picture', help: 'Local passes over each kind of picture in a cycle' },
  lambdaEc: { label: 'Error correction (λ_ec)', help: 'Makes up for what compression left out' },
  chainServer: { label: 'Combining per kind', help: 'ssca merging, or plain averaging (to compare)' },
  syncEvery: { label: 'Cycles per round (H)', help: 'Chain cycles clients run before syncing' },
  signLr: { label: 'Step of the majority vote', help: 'How far the server moves in the majority’s direction' },
  alignMu: { label: 'Keep classes apart (μ)', help: 'FedAlign and LoRA baselines: pushes the class averages to point different ways' },
  loraOptimizer: { label: 'Training method for add-ons', help: 'adam adapts each step’s size (use lr 0.01); sgd takes plain steps' },
  alignTauA: { label: 'Class match sharpness (τ_a)', help: 'FedAlign: lower = a client borrows mostly from clients with matching classes' },
  alignFeatures: { label: 'Features sent per class', help: 'FedAlign: examples of each class a client shares (these reveal its data)' },
  textLr: { label: 'Server class-encoder speed', help: 'FedAlign: step size of the server’s class encoder (one pass a round)' },
  // Uplink compression
  compress: { label: 'Shrink the updates sent', help: 'none, topk (only the biggest changes), int8 or float16 numbers' },
  topk: { label: 'Share of changes sent', help: 'Send only this fraction of the biggest changes' },
  errorFeedback: { label: 'Remember what was not sent', help: 'Adds the left-out part to the next update (keep on)' },
  // Simulated bad clients
  attack: { label: 'Attack by bad clients', help: 'What the simulated bad clients do (none = an honest run)' },
  attackers: { label: 'Share of bad clients', help: 'Fraction of clients that attack: 0.25 = one in four' },
  attackScale: { label: 'Attack strength', help: 'How hard the bad clients push (0 = the attack’s usual)' },
  forgeLosses: { label: 'Bad clients fake losses', help: 'They report honest-looking training losses to hide' },
  stragglers: { label: 'Share of slow clients', help: 'Fraction of each round’s clients that are too slow' },
  stragglerMode: { label: 'What slow clients do', help: 'partial: send half-done work; late: answer after the limit' },
};

/** The words for `key`. */
export function fieldText(key: keyof FederationConfig): FieldText {
  return FIELD_TEXT[key];
}
