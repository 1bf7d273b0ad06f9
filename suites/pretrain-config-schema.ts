/**
 * JSON Schemas of a pre-training config (runner/config.ts): the common parts, and each
 * framework's own fields. Cells give any part of a config (overrides); a resolved config must
 * have every part, and its framework section only the fields of the framework it names.
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
const unit = { type: 'number', minimum: 0, maximum: 1 } as const;
const strict = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', additionalProperties: false, properties, required });

export const FRAMEWORK_NAMES = ['mocov3', 'simclr', 'byol', 'swav'] as const;

const HEADS = { projLayers: posInt, mlpDim: posInt, outDim: posInt } as const;

/** Each framework's fields (besides `name`). */
export const FRAMEWORK_FIELDS: Record<(typeof FRAMEWORK_NAMES)[number], Record<string, unknown>> = {
  mocov3: {
    ...HEADS,
    tau: posNum,
    m0: unit,
    momentumSchedule: { enum: ['cosine', 'constant'] },
    predictor: { type: 'boolean' },
    headBn: { type: 'boolean' },
    predictorLastBn: { type: 'boolean' },
  },
  simclr: { ...HEADS, tau: posNum },
  byol: { ...HEADS, m0: unit, momentumSchedule: { enum: ['cosine', 'constant'] }, predictorLayers: posInt },
  swav: { ...HEADS, prototypes: posInt, temperature: posNum, epsilon: posNum, sinkhornIters: posInt, freezePrototypesEpochs: { type: 'number', minimum: 0 } },
};

export const FRAMEWORK_SCHEMAS = Object.fromEntries(
  Object.entries(FRAMEWORK_FIELDS).map(([name, fields]) => [name, strict({ name: { const: name }, ...fields }, ['name'])]),
);

/** Any framework's fields; the resolved config is then checked against its own framework's. */
const ANY_FRAMEWORK = strict({ name: { enum: FRAMEWORK_NAMES }, ...Object.assign({}, ...Object.values(FRAMEWORK_FIELDS)) });

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
  framework: ANY_FRAMEWORK,
  optimizer: strict({
    name: { enum: ['adamw', 'lars', 'lamb'] },
    baseLr: posNum,
    weightDecay: { type: 'number', minimum: 0 },
    batch: { type: 'integer', minimum: 2 },
    epochs: posInt,
    warmupEpochs: { type: 'number', minimum: 0 },
    lrScaleDivisor: posNum,
    momentum: { type: 'number', minimum: 0, exclusiveMaximum: 1 },
    trustCoefficient: posNum,
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
