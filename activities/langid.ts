/**
 * Language identification with Google's CLD3 (the model mC4 used), compiled to WebAssembly by `cld3-asm`: it
 * covers 107 languages (en, zh, ...) and reports a probability, which the language rule thresholds. The
 * module loads once per process; a text without letters is `und` with score 0 (CLD3 would guess), and so is
 * a CJK answer for a text without a CJK character: CLD3 squeezes out repetitive text and answers an empty
 * remainder with `ja`.
 */
import { loadModule } from 'cld3-asm';

export interface LanguageGuess {
  /** ISO 639-1 where one exists (`en`, `zh`, `ja`), as CLD3 names it; `und` when nothing can be said. */
  language: string;
  /** CLD3's probability for that language, 0..1. */
  score: number;
}

export interface LanguageIdentifier {
  identify(text: string): LanguageGuess;
}

/** CLD3 reads at most this many bytes; longer texts are cut first so they are not copied whole into WASM. */
const MAX_BYTES = 4096;
const MAX_CHARS = 2048;
const CJK_LANGUAGES = new Set(['ja', 'zh', 'ko']);
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
let loading: Promise<LanguageIdentifier> | undefined;

export function loadLanguageIdentifier(): Promise<LanguageIdentifier> {
  loading ??= loadModule().then((factory) => {
    const cld = factory.create(0, MAX_BYTES);
    return {
      identify(text: string): LanguageGuess {
        const sample = text.slice(0, MAX_CHARS).replace(/\s+/g, ' ').trim();
        if (!/\p{L}/u.test(sample)) return { language: 'und', score: 0 };
        const r = cld.findLanguage(sample);
        if (r.language === 'und' || (CJK_LANGUAGES.has(r.language) && !CJK.test(sample))) return { language: 'und', score: 0 };
        return { language: r.language, score: r.probability };
      },
    };
  });
  return loading;
}
