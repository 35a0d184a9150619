/** The newwords tests' shared vocabulary: general words, domain terms, and a WordPiece vocab built from them. */
import fs from 'node:fs';
import path from 'node:path';
import { ZH_WORDS } from './near-corpus';

export const EN_GENERAL = (
  'the people said that many years ago a small house stood near the river and every morning children walked ' +
  'along the road to school where their teacher told stories about old cities friends food music weather'
).split(' ');
export const EN_TERMS = ['stochastic gradient descent', 'learning rate', 'weight decay', 'hyperparameter', 'transformer'];
export const ZH_TERMS = ['梯度下降', '词向量', '预训练', '注意力'];

/** A WordPiece vocab that knows the general words, "transformer" and "注意力" whole, and splits "hyperparameter". */
export function writeVocab(dir: string): string {
  const chars = [...new Set([...ZH_WORDS, ...ZH_TERMS].join(''))];
  const file = path.join(dir, 'vocab.txt');
  fs.writeFileSync(file, ['[PAD]', '[UNK]', ...EN_GENERAL, 'transformer', 'hyper', '##parameter', '注意力', ...chars].join('\n'));
  return file;
}
