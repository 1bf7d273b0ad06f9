/**
 * JSON Schemas of a pre-training config (core/config.ts): the common parts. Cells give any part of a
 * config (overrides); a resolved config must have every part. The framework and optimizer sections'
 * own fields are their plugins' (core/plugin.ts), checked on resolution.
 */
export const BACKBONE_OPTIONS = {
  patchSize: { type: 'integer', minimum: 1 },
  imageSize: { type: 'integer', minimum: 1 },
  posEmbed: { enum: ['sincos', 'learned', 'none'] },
  pooling: { enum: ['cls', 'gap-ln', 'gap'] },
  randomPatchProj: { type: 'boolean' },
  mlpBatchNorm: { type: 'boolean' },
  dropPath: { type: 'number', minimum: 0, exclusiveMaximum: 1 },
  stem: { enum: ['imagenet', 'cifar'] },
  zeroInitResidual: { type: 'boolean' },
} as const;

const posNum = { type: 'number', exclusiveMinimum: 0 } as const;
const posInt = { type: 'integer', minimum: 1 } as const;
const strict = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', additionalProperties: false, properties, required });

/**
 * A plugin's section (framework, optimiser): its name and scalar fields. Which fields it may have
 * is the plugin's own schema (core/plugin.ts), checked when a cell is resolved against the plugins
 * a run has registered (a user's plugin included).
 */
const PLUGIN_FIELDS = { type: ['number', 'string', 'boolean'] } as const;
const pluginSection = (properties: Record<string, unknown>) => ({ type: 'object', properties: { name: { type: 'string', minLength: 1 }, ...properties }, additionalProperties: PLUGIN_FIELDS });

export const PRETRAIN_CONFIG_SCHEMA = strict({
  seed: { type: 'integer', minimum: 0 },
  data: strict({
    dataset: { enum: ['auto', 'synthetic', 'fashion-mnist', 'imagenet', 'cifar10', 'cifar100', 'flowers102', 'pets'] },
    path: { type: 'string', minLength: 1 },
    trainCount: posInt,
    testCount: posInt,
    viewSize: posInt,
    evalCropFraction: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  }),
  backbone: strict({ name: { type: 'string', minLength: 1 }, ...BACKBONE_OPTIONS }),
  framework: pluginSection({}),
  optimizer: pluginSection({
    baseLr: posNum,
    weightDecay: { type: 'number', minimum: 0 },
    batch: { type: 'integer', minimum: 2 },
    epochs: posInt,
    warmupEpochs: { type: 'number', minimum: 0 },
    lrScaleDivisor: posNum,
  }),
  augment: strict({ cropMin: { type: 'number', exclusiveMinimum: 0, maximum: 1 } }),
  monitor: strict({ every: posInt, queueFraction: { type: 'number', exclusiveMinimum: 0, maximum: 1 }, k: posInt, temperature: posNum, queries: posInt, bank: posInt }),
  knn: strict({ k: posInt, temperature: posNum }),
  checkpointEvery: posInt,
});

export const PRETRAIN_CONFIG_REQUIRED = {
  ...PRETRAIN_CONFIG_SCHEMA,
  required: ['seed', 'data', 'backbone', 'framework', 'optimizer', 'augment', 'monitor', 'knn', 'checkpointEvery'],
};
