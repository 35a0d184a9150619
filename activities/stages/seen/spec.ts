import { z } from 'zod';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

/**
 * The documents a promoted model line has been trained on, found through the artifacts' lineage: the reference
 * for `dedupe` `against`, so that a scheduled refresh trains on new data only.
 */
export const SeenParams = z
  .object({
    line: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'expected a model line name (letters, digits, . _ -)' })
      .describe('the model line: the promote stage\'s name (default there: the pipeline\'s name); empty output while nothing is promoted'),
  })
  .strict();

/** The `seen` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const seenKind = stageKind({
  description: 'The documents the promoted model of a line was trained on (through its lineage): the dedupe reference that keeps a refresh to new data',
  params: SeenParams,
  accepts: [],
  produces: 'documents',
  version: '1',
  defaultQueue: QUEUES.cpu,
  fanout: () => false,
});
