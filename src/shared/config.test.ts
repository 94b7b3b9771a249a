import { describe, expect, it } from 'vitest';
import {
  CONFIG_KEYS, ConfigError, DEFAULT_CONFIG, configFromQuery, configToQuery, resolveConfig, runModelHead, type FederationConfig,
} from './config';

/** The ConfigError thrown by fn (fails the test if fn does not throw one). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveConfig', () => {
  it('fills defaults and returns a fresh object', () => {
    for (const empty of [undefined, null, {}]) {
      const cfg = resolveConfig(empty);
      expect(cfg).toEqual(DEFAULT_CONFIG);
      expect(cfg).not.toBe(DEFAULT_CONFIG);
    }
    expect(DEFAULT_CONFIG).toMatchObject({ dataset: 'mnist', model: 'cnn-s', partition: 'iid', rounds: 5, fraction: 1, clients: 0, minClients: 1 });
    expect(resolveConfig({ rounds: 7 }, { ...DEFAULT_CONFIG, seed: 9 })).toMatchObject({ rounds: 7, seed: 9 });
    expect(resolveConfig({ rounds: undefined }).rounds).toBe(5);
  });

  it('coerces strings (URL query, form) and accepts numbers', () => {
    const cfg = resolveConfig({ rounds: '10', lr: ' 0.1 ', fraction: '0.5', dataset: ' Fashion-MNIST ', algorithm: 'FedProx', mu: 0 });
    expect(cfg).toMatchObject({ rounds: 10, lr: 0.1, fraction: 0.5, dataset: 'fashion-mnist', algorithm: 'fedprox', mu: 0 });
    expect(typeof cfg.rounds).toBe('number');
    expect(resolveConfig({ clients: 4, minClients: 4, seed: 2 ** 31 - 1, roundDeadlineMs: 100 })).toMatchObject({ clients: 4, minClients: 4, seed: 2147483647, roundDeadlineMs: 100 });
  });

  it('rejects a non-object config', () => {
    for (const bad of ['rounds=3', 3, [1, 2]]) expect(configError(() => resolveConfig(bad)).message).toBe('config must be an object');
  });

  it('rejects an unknown key and lists the valid keys', () => {
    const e = configError(() => resolveConfig({ round: 3 }));
    expect(e.message).toContain('unknown config key "round"');
    for (const k of CONFIG_KEYS) expect(e.message).toContain(k);
  });

  it('rejects a bad enum value and lists the valid values', () => {
    expect(configError(() => resolveConfig({ dataset: 'cifar10' })).message).toBe(
      'invalid dataset "cifar10": dataset must be one of: mnist, fashion-mnist, mnist+fashion',
    );
    expect(configError(() => resolveConfig({ backend: 'cuda' })).message).toContain('backend must be one of: auto, webgpu, webgl, wasm, cpu');
    expect(configError(() => resolveConfig({ partition: 3 })).message).toContain('partition must be one of: iid, dirichlet, shards, labels, quantity, longtail');
  });

  it.each<[string, unknown, string]>([
    ['rounds', 0, 'rounds must be an integer >= 1 and <= 10000'],
    ['rounds', 10_001, 'rounds must be an integer >= 1 and <= 10000'],
    ['rounds', 1.5, 'rounds must be an integer'],
    ['rounds', '2.5', 'rounds must be an integer'],
    ['epochs', '', 'epochs must be an integer >= 1'],
    ['batchSize', 'abc', 'batchSize must be an integer'],
    ['lr', 0, 'lr must be a number > 0 and <= 10'],
    ['lr', Infinity, 'lr must be a number > 0'],
    ['lr', NaN, 'lr must be a number > 0'],
    ['fraction', 1.5, 'fraction must be a number > 0 and <= 1'],
    ['fraction', '0', 'fraction must be a number > 0'],
    ['alpha', -1, 'alpha must be a number > 0'],
    ['mu', -0.1, 'mu must be a number >= 0 and <= 100'],
    ['seed', 2 ** 31, 'seed must be an integer >= 0'],
    ['roundDeadlineMs', 99, 'roundDeadlineMs must be an integer >= 100'],
    ['clients', true, 'clients must be an integer >= 0'],
  ])('rejects %s = %j', (key, value, msg) => {
    const e = configError(() => resolveConfig({ [key]: value }));
    expect(e.message).toContain(`invalid ${key} `);
    expect(e.message).toContain(msg);
  });

  it('rejects minClients > clients, unless clients is 0 (whoever is registered)', () => {
    expect(configError(() => resolveConfig({ clients: 2, minClients: 3 })).message).toBe('minClients (3) cannot exceed clients (2)');
    expect(resolveConfig({ clients: 0, minClients: 3 }).minClients).toBe(3);
    expect(resolveConfig({ clients: 3, minClients: 3 }).minClients).toBe(3);
  });
});

describe('FedAlign and its LoRA baselines', () => {
  it('train cnn-s-lora unless told otherwise, and only it', () => {
    for (const algorithm of ['fedalign', 'fedavg-lora', 'local-lora']) expect(resolveConfig({ algorithm }).model).toBe('cnn-s-lora');
    expect(resolveConfig({ algorithm: 'fedalign' })).toMatchObject({ alignMu: 0.1, alignTauA: 0.1, alignFeatures: 50, textLr: 0.001 });
    expect(() => resolveConfig({ algorithm: 'fedalign', model: 'cnn-s' })).toThrow('fedalign trains LoRA factors against class features: model cnn-s-lora (not cnn-s)');
    expect(() => resolveConfig({ model: 'cnn-s-lora', dataset: 'mnist+fashion' })).toThrow(/mnist\+fashion has two modalities: model must be mm-late or mm-concat, not cnn-s-lora/);
    expect(resolveConfig({ algorithm: 'fedavg', model: 'cnn-s-lora' }).model).toBe('cnn-s-lora');
    // Adam on the LoRA factors at 0.01 unless a step size (or SGD) is named
    expect(resolveConfig({ algorithm: 'fedalign' })).toMatchObject({ loraOptimizer: 'adam', lr: 0.01 });
    expect(resolveConfig({ algorithm: 'fedalign', lr: 0.003 }).lr).toBe(0.003);
    expect(resolveConfig({ algorithm: 'local-lora', loraOptimizer: 'sgd' }).lr).toBe(0.1);
  });
});

describe('URL query', () => {
  it('configFromQuery keeps only config keys and does not coerce', () => {
    expect(configFromQuery('?role=client&rounds=3&dataset=fashion-mnist&foo=bar')).toEqual({ rounds: '3', dataset: 'fashion-mnist' });
    expect(configFromQuery(new URLSearchParams('role=dashboard'))).toEqual({});
    expect(resolveConfig(configFromQuery('rounds=3&lr=0.2'))).toMatchObject({ rounds: 3, lr: 0.2 });
  });

  it('configFromQuery rejects bad values', () => {
    expect(configError(() => configFromQuery('role=client&rounds=0')).message).toContain('invalid rounds "0"');
    expect(configError(() => configFromQuery('model=resnet')).message).toContain('model must be one of: cnn-s, cnn-s-ca-mlp, cnn-s-ca, cnn-s-sa, cnn-s-cbam, 2nn, cnn-m');
    expect(configError(() => configFromQuery('clients=2&minClients=5')).message).toContain('minClients (5) cannot exceed clients (2)');
  });

  it('configToQuery round-trips through configFromQuery + resolveConfig', () => {
    const cfg: FederationConfig = { ...DEFAULT_CONFIG, dataset: 'fashion-mnist', partition: 'dirichlet', alpha: 0.1, rounds: 12, lr: 0.02, clients: 4, minClients: 2 };
    const q = configToQuery(cfg);
    expect(q.get('alpha')).toBe('0.1');
    expect([...q.keys()]).toEqual(CONFIG_KEYS);
    expect(resolveConfig(configFromQuery(q.toString()))).toEqual(cfg);
    expect(configToQuery({ rounds: 3 }).toString()).toBe('rounds=3');
  });
});

describe('the config schema: new keys, aliases, and keys that are not own fields', () => {
  it('refuses keys that exist only on Object.prototype', () => {
    for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      expect(configError(() => resolveConfig(JSON.parse(`{"${key}": 1}`))).message, key).toContain(`unknown config key "${key}"`);
    }
  });

  it('coerces and checks the new keys', () => {
    expect(resolveConfig({ dataFraction: '0.2', localEval: '0', evalEvery: '5', serverOpt: 'Adam', q: '1' })).toMatchObject({
      dataFraction: 0.2, localEval: 0, evalEvery: 5, serverOpt: 'adam', q: 1,
    });
    expect(configError(() => resolveConfig({ dataFraction: 0 })).message).toContain('dataFraction must be a number > 0 and <= 1');
    expect(configError(() => resolveConfig({ localEval: 0.6 })).message).toContain('localEval must be a number >= 0 and <= 0.5');
    expect(configError(() => resolveConfig({ serverOpt: 'rmsprop' })).message).toContain('serverOpt must be one of: sgd, momentum, adam, yogi, adagrad');
    expect(resolveConfig({ tau: 'Infinity' }).tau).toBe(Infinity);
  });

  it('validates the attention-model, distillation and imbalance keys (issue 8)', () => {
    expect(resolveConfig({ model: 'cnn-s-cbam', algorithm: 'fedakd', kdLambda: '0.1', kdTemperature: '4' })).toMatchObject({ model: 'cnn-s-cbam', kdLambda: 0.1, kdTemperature: 4 });
    expect(configError(() => resolveConfig({ model: 'cnn-s-attention' })).message).toContain('model must be one of');
    expect(configError(() => resolveConfig({ algorithm: 'fedakd', kdLambda: -0.1 })).message).toContain('kdLambda');
    expect(configError(() => resolveConfig({ algorithm: 'fedakd', kdTemperature: 0 })).message).toContain('kdTemperature');
    expect(configError(() => resolveConfig({ algorithm: 'fedntd', ntdTemperature: 0 })).message).toContain('ntdTemperature');
    expect(configError(() => resolveConfig({ algorithm: 'fedakd', attentionTransfer: -1 })).message).toContain('attentionTransfer');
    expect(configError(() => resolveConfig({ algorithm: 'fedakd', akdAttention: 'channel' })).message).toContain('akdAttention');
    expect(configError(() => resolveConfig({ algorithm: 'fedavg-la', laTau: -1 })).message).toContain('laTau');
    // distillation on the server needs a proxy split held out of the partitions
    expect(configError(() => resolveConfig({ algorithm: 'feddf' })).message).toBe(
      'server distillation (feddf) needs an unlabelled proxy split held out of the partitions: set proxySamples > 0, e.g. 2000',
    );
    expect(configError(() => resolveConfig({ algorithm: 'fedakd', serverDistill: true })).message).toContain('fedakd with serverDistill) needs an unlabelled proxy split');
    expect(resolveConfig({ algorithm: 'fedakd', serverDistill: true, proxySamples: 2000 }).proxySamples).toBe(2000);
    expect(configError(() => resolveConfig({ algorithm: 'feddf', proxySamples: 2000, distillSteps: 0 })).message).toContain('distillSteps');
    expect(configError(() => resolveConfig({ proxySamples: 50_000 })).message).toContain('proxySamples');
    expect(configError(() => resolveConfig({ algorithm: 'fedakd', akdAttention: 'pooling', model: '2nn' })).message).toContain('model 2nn has none');
  });

  it('mnist+fashion: a two-modality model (mm-late unless named), shares that leave room, FedMChain only there and Top-K by default', () => {
    expect(resolveConfig({ dataset: 'mnist+fashion' }).model).toBe('mm-late');
    expect(resolveConfig({ dataset: 'mnist+fashion', model: 'mm-concat' }).model).toBe('mm-concat');
    expect(configError(() => resolveConfig({ dataset: 'mnist+fashion', model: 'cnn-s' })).message).toContain('model must be mm-late or mm-concat');
    expect(configError(() => resolveConfig({ model: 'mm-late' })).message).toContain('use dataset mnist+fashion');
    expect(configError(() => resolveConfig({ dataset: 'mnist+fashion', modalityBoth: 0.8, modalityMnistOnly: 0.3 })).message).toContain('exceed 1');
    expect(configError(() => resolveConfig({ algorithm: 'fedmchain' })).message).toContain('use dataset mnist+fashion');
    expect(configError(() => resolveConfig({ algorithm: 'fedmchain', dataset: 'mnist+fashion', model: 'mm-concat' })).message).toContain('model mm-late');
    expect(resolveConfig({ algorithm: 'fedmchain', dataset: 'mnist+fashion' }).compress).toBe('topk');
    expect(resolveConfig({ algorithm: 'fedmchain', dataset: 'mnist+fashion', compress: 'none' }).compress).toBe('none');
    expect(configError(() => resolveConfig({ algorithm: 'scaffold', dataset: 'mnist+fashion' })).message).toContain('control variates');
    expect(configError(() => resolveConfig({ algorithm: 'fltrust', dataset: 'mnist+fashion' })).message).toContain('server split');
    // A resolved paired config resolves to itself (what every broadcast carries).
    const cfg = resolveConfig({ algorithm: 'fedmchain', dataset: 'mnist+fashion' });
    expect(resolveConfig(cfg)).toEqual(cfg);
  });

  it('runModelHead: FedAKD adds its feature attention by itself, other strategies none', () => {
    expect(runModelHead(resolveConfig({ algorithm: 'fedakd' }))).toBe('feature');
    expect(runModelHead(resolveConfig({ algorithm: 'fedakd', akdAttention: 'pooling', model: 'cnn-s-sa' }))).toBe('pooling');
    expect(runModelHead(resolveConfig({ algorithm: 'fedntd' }))).toBe('none');
    expect(runModelHead(resolveConfig({ algorithm: 'fedprox', model: 'cnn-s-cbam' }))).toBe('none');
  });

  it('a FedOpt alias fixes its server optimizer; naming another one with it is an error', () => {
    expect(resolveConfig({ algorithm: 'fedyogi' }).serverOpt).toBe('yogi');
    expect(resolveConfig({ algorithm: 'fedavgm', serverOpt: 'momentum' }).serverOpt).toBe('momentum');
    expect(configError(() => resolveConfig({ algorithm: 'fedavgm', serverOpt: 'adam' })).message).toBe(
      'fedavgm is FedAvg with serverOpt momentum; drop serverOpt adam, or use algorithm fedavg with it',
    );
    expect(resolveConfig({ algorithm: 'fed-adaptive-next', serverOpt: 'adam' })).toMatchObject({ algorithm: 'fed-adaptive-next', serverOpt: 'adam' });
    // A resolved config resolves to itself (stored runs, experiment files).
    const cfg = resolveConfig({ algorithm: 'fedadam' });
    expect(resolveConfig(cfg)).toEqual(cfg);
  });
});

