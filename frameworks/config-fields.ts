/** Config fields several frameworks share (TypeBox, with the paper's ViT defaults). */
import { Type } from '@sinclair/typebox';
import { StringEnum } from '../core/plugin.ts';

const posInt = (def: number, description: string) => Type.Integer({ minimum: 1, default: def, description });

/** The MLP heads' sizes. */
export const headFields = (projLayers = 3, mlpDim = 4096, outDim = 256) => ({
  projLayers: posInt(projLayers, 'projector layers (3 for ViT, 2 for R-50)'),
  mlpDim: posInt(mlpDim, 'hidden width of the heads (4096 in the paper)'),
  outDim: posInt(outDim, 'output width of the heads (256 in the paper)'),
});

/** The momentum (EMA) encoder's schedule: m0 and cosine / constant. */
export const momentumFields = (m0 = 0.99) => ({
  m0: Type.Number({ minimum: 0, maximum: 1, default: m0, description: 'initial momentum m0 (0.99 for ViT)' }),
  momentumSchedule: StringEnum(['cosine', 'constant'] as const, {
    default: 'cosine',
    description: "'cosine': m rises from m0 to 1 over training; 'constant': m stays m0",
  }),
});
