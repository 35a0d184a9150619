/**
 * The "needs knowledge" score of a mined term, in the spirit of DKPLM's knowledge-entity detection (Zhang et al.
 * 2022): a general model lacks knowledge of a term that is rare in general text, yet frequent enough in the domain
 * to matter, and that its tokenizer cannot write as one token (no embedding of its own). Knowledge can only be
 * injected where a definition exists, so the score also asks for one. Each factor is in [0, 1] and the score is
 * their product, so one failed condition sinks it:
 *   rare        1 / (1 + general rate / generalPerMillion): 1 for a term general text never shows, ½ at the scale;
 *               1 when no general corpus was counted (nothing says the term is common);
 *   enough      ln(1 + domain freq) / ln(1 + enoughFreq), capped at 1;
 *   fragmented  (pieces − 1) / (fragmentPieces − 1), capped at 1; a term written with the unknown token: 1;
 *   defined     1 with a definition, else 0.
 * `need` is the product without `defined`: the terms that would be chosen if the glossary defined them.
 */
import type { StageParams } from '../../../schemas/stages';

export type ScoreParams = StageParams<'longtail'>['score'];

export interface TermStats {
  domainFreq: number;
  /** Occurrences in the general corpus, null when none was counted. */
  generalFreq: number | null;
  /** Units (words, Chinese characters) the general corpus had in the term's language. */
  generalUnits: number | null;
  pieces: number;
  unknown: boolean;
  defined: boolean;
}

export interface Knowledge {
  rare: number;
  enough: number;
  fragmented: number;
  need: number;
  score: number;
}

export function needsKnowledge(t: TermStats, p: ScoreParams): Knowledge {
  const perMillion = t.generalFreq === null || !t.generalUnits ? null : (t.generalFreq / t.generalUnits) * 1e6;
  const rare = perMillion === null ? 1 : 1 / (1 + perMillion / p.generalPerMillion);
  const enough = Math.min(1, Math.log1p(t.domainFreq) / Math.log1p(p.enoughFreq));
  const fragmented = t.unknown ? 1 : Math.min(1, Math.max(0, t.pieces - 1) / (p.fragmentPieces - 1));
  const need = rare * enough * fragmented;
  return { rare, enough, fragmented, need, score: t.defined ? need : 0 };
}
