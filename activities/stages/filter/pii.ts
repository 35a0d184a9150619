/**
 * PII masking, a filter that never drops: e-mail addresses, phone numbers (Chinese mobile numbers, NANP and
 * "+"-prefixed international numbers) and Chinese resident ID numbers (18 characters: region, a real birth
 * date, sequence, and a valid ISO 7064 MOD 11-2 check character) are replaced by placeholder tokens. ID
 * numbers are masked first, so their digits are never read as a phone number; counts go to the stats.
 */
import type { StageParams } from '../../../schemas/stages';
import { BaseFilter, type Verdict } from './base';
import type { FilterDoc } from './doc';

type Options = StageParams<'filter'>['pii'];

const EMAIL = /(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?![\w-])/g;
const ID_CARD = /(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])/g;
const PHONES = [
  // Chinese mobile: 1[3-9]x xxxx xxxx, optionally +86 / 0086, optionally split 3-4-4.
  /(?<![\d+])(?:(?:\+|00)86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?!\d)/g,
  // NANP: (555) 123-4567, 555-123-4567, +1 555.123.4567.
  /(?<![\w+])(?:\+?1[-.\s]?)?(?:\(\d{3}\)\s?|\d{3}[-.\s])\d{3}[-.\s]\d{4}(?!\d)/g,
  // Other international numbers, only with an explicit "+" country code.
  /(?<![\w+])\+\d{1,3}(?:[-.\s]?\(?\d{1,4}\)?){2,5}(?!\d)/g,
];
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** True for an 18-character Chinese resident ID number whose check character and birth date are valid. */
export function validChineseId(id: string): boolean {
  if (!/^\d{17}[\dXx]$/.test(id)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(id[i]) * ID_WEIGHTS[i];
  if (ID_CHECK[sum % 11] !== id[17].toUpperCase()) return false;
  const [y, m, d] = [Number(id.slice(6, 10)), Number(id.slice(10, 12)), Number(id.slice(12, 14))];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** 7 to 15 digits (E.164's limit): short number runs such as "+5 10 20" are not phone numbers. */
function plausiblePhone(s: string): boolean {
  const digits = s.replace(/\D/g, '').length;
  return digits >= 7 && digits <= 15;
}

export class PiiMasker extends BaseFilter {
  readonly name = 'pii';

  constructor(private readonly o: Options) {
    super();
  }

  keep(doc: FilterDoc): Verdict {
    const { o } = this;
    let text = doc.text;
    let masked = 0;
    const mask = (re: RegExp, key: string, token: string, valid: (s: string) => boolean = () => true) => {
      text = text.replace(re, (m) => {
        if (!valid(m)) return m;
        this.stat(key);
        masked++;
        return token;
      });
    };
    if (o.idCards) mask(ID_CARD, 'id_cards', o.replacements.idCard, validChineseId);
    if (o.emails) mask(EMAIL, 'emails', o.replacements.email);
    if (o.phones) for (const re of PHONES) mask(re, 'phones', o.replacements.phone, plausiblePhone);
    if (masked) {
      this.stat('documents');
      doc.text = text;
    }
    return true;
  }
}
