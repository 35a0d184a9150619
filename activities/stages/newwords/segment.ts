/**
 * The check the newwords stage reports: how many mined words jieba's own dictionary would cut apart.
 */
import { defaultJieba } from '../../chinese';

/** Chinese words that jieba, with its built-in dictionary only, splits into several pieces. */
export function newToJieba(words: string[]): number {
  const jieba = defaultJieba();
  return words.filter((w) => jieba.cut(w, false).length > 1).length;
}
