import { z } from 'zod';

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
