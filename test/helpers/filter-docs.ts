/**
 * Documents built to trip one filter rule each (and a clean English and Chinese one that every rule keeps),
 * with the rule and reason that must drop them. Cases marked `noc4` run with the C4 rules off: C4 removes
 * every line without terminal punctuation, so FineWeb's line rules could never fire after it.
 */

export interface FilterCase {
  name: string;
  text: string;
  /** `kept`, or `rule/reason`. */
  expect: string;
  config?: 'default' | 'noc4';
}

const P1 =
  'The river valley was settled by farmers who grew barley and raised sheep on the surrounding hills. ' +
  'Over several centuries, the small villages grew into market towns connected by a network of roads. ' +
  'Merchants brought wool to the coast, where it was sold to traders from distant ports.';
const P2 =
  'Historians have studied parish records to understand how families lived during difficult winters. ' +
  'Their research shows that harvests failed roughly once in every decade, forcing many people to move. ' +
  'Today the region is known for its quiet landscapes, stone bridges and carefully restored churches.';
export const CLEAN_EN = `${P1}\n\n${P2}`;

export const CLEAN_ZH =
  '长江流域是中国古代文明的重要发源地之一，沿岸的城市在几千年里不断发展。农民在肥沃的土地上种植水稻和小麦，商人则通过水路把丝绸和茶叶运往远方。\n\n' +
  '历史学家研究了大量的地方志和家族档案，希望了解普通人在灾荒年代是怎样生活的。他们发现，洪水大约每隔十几年就会发生一次，许多家庭因此被迫迁移。' +
  '今天，这里以秀美的山水、古老的石桥和精心修复的寺庙而闻名，每年都吸引着来自各地的游客。';

const distinct = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
const NUM = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];

export const CASES: FilterCase[] = [
  { name: 'clean-en', text: CLEAN_EN, expect: 'kept' },
  { name: 'clean-zh', text: CLEAN_ZH, expect: 'kept' },
  {
    name: 'german',
    text: 'Das Flusstal wurde von Bauern besiedelt, die Gerste anbauten und Schafe auf den umliegenden Hügeln hielten. ' +
      'Im Laufe der Jahrhunderte wuchsen die kleinen Dörfer zu Marktstädten, die durch ein Netz von Straßen verbunden waren. ' +
      'Händler brachten Wolle an die Küste, wo sie an Kaufleute aus fernen Häfen verkauft wurde.',
    expect: 'language/other_language',
  },
  { name: 'low-confidence', text: 'Ciao bella, nice to meet you', expect: 'language/below_threshold' },
  { name: 'dup-paragraphs', text: [P1, P2, P2, P2, P2].join('\n\n'), expect: 'gopher_repetition/dup_para_frac' },
  { name: 'dup-paragraph-chars', expect: 'gopher_repetition/dup_para_char_frac',
    text: [`${P1} ${P2}`, ...distinct(8, (i) => `Note ${NUM[i]} closes this part.`), `${P1} ${P2}`].join('\n\n') },
  { name: 'dup-lines', expect: 'gopher_repetition/dup_line_frac',
    text: [P1, P2, 'Read more.', 'Read more.', 'Read more.', 'Share this.', 'Share this.', 'Share this.'].join('\n') },
  { name: 'dup-line-chars', expect: 'gopher_repetition/dup_line_char_frac',
    text: [`${P1} ${P2}`, ...distinct(6, (i) => `Chapter ${NUM[i]} ends here.`), `${P1} ${P2}`].join('\n') },
  { name: 'top-bigram', expect: 'gopher_repetition/top_2_gram',
    text: distinct(10, (i) => `On house ${NUM[i]} the solar panel feeds a solar panel charger, and a solar panel mount holds it.`).join(' ') },
  { name: 'duplicated-5-grams', expect: 'gopher_repetition/duplicated_5_n_grams',
    text: distinct(12, (i) => `${NUM[i]}: ${['the wind blew over the hill', 'a dog ran across the field', 'we ate bread with cold butter', 'rain fell on the old roof', 'birds sang in the tall trees', 'she read books by the fire'][i % 6]}.`).join(' ') },
  { name: 'short', text: 'The river valley was settled by farmers who grew barley and raised sheep.', expect: 'gopher_quality/gopher_short_doc' },
  {
    name: 'short-words',
    text: 'I am at my mom\'s now. We go to a zoo. He is so sad. It was a big day. Do you see my cat? No, it ran off. ' +
      'We can go up a hill. She has a red hat. He got a new dog. Is it on the bus? The sun is up. My pal and I ate pie. ' +
      'We sat by a lot of old men. Can we go in? Yes, we can. Tom hid in a box. Do not be shy. I saw an owl at six.',
    expect: 'gopher_quality/gopher_below_avg_threshold',
  },
  {
    name: 'long-words',
    text: 'Internationalization considerations notwithstanding, telecommunications interoperability necessitates comprehensive standardization. ' +
      'Pharmaceutical manufacturers increasingly characterize biotechnological innovations as transformational opportunities. ' +
      'Environmental sustainability commitments accompany infrastructure modernization programmes everywhere. ' +
      'Institutionalized bureaucracies occasionally misunderstand entrepreneurial experimentation. ' +
      'Electromagnetic compatibility certification requirements complicate semiconductor miniaturization. ' +
      'Photosynthetic microorganisms demonstrate extraordinary metabolic adaptability underwater. ' +
      'Consequently, interdisciplinary collaborations increasingly accommodate unconventional methodologies. ' +
      'The reports of the committee and that review have to be read with care.',
    expect: 'gopher_quality/gopher_above_avg_threshold',
  },
  { name: 'hashtags', text: `${CLEAN_EN}

${distinct(12, (i) => `#travel${NUM[i]} #river #history`).join(' ')}`, expect: 'gopher_quality/gopher_too_many_hashes' },
  { name: 'ellipses', text: CLEAN_EN.replace(/\. /g, '... ').replace(/ (and|the|of|to) /g, ' $1... '), expect: 'gopher_quality/gopher_too_many_ellipsis' },
  { name: 'bullets', text: [P1, P2].flatMap((p) => p.split('. ')).map((l) => `• ${l}.`).join('\n'), expect: 'gopher_quality/gopher_too_many_bullets' },
  { name: 'end-ellipsis-lines', expect: 'gopher_quality/gopher_too_many_end_ellipsis',
    text: [P1, P2].flatMap((p) => p.split('. ')).map((l, i) => (i % 2 ? `${l}.` : `${l.replace(/\.$/, '')}...`)).join('\n') },
  { name: 'numbers', expect: 'gopher_quality/gopher_below_alpha_threshold',
    text: `${P1}\n\n${distinct(12, (i) => `${1000 + i * 37} ${2000 + i * 91} ${30 + i} ${i * 7}.${i} ${4500 + i}`).join('\n')}` },
  {
    name: 'no-stop-words',
    text: 'Farmers grew barley on hills. Villages became market towns. Merchants carried wool toward coastal ports. ' +
      'Traders from distant harbours bought fleeces. Historians studied parish records. Harvests failed roughly once every decade. ' +
      'Many families moved away. Quiet landscapes, stone bridges, restored churches remain. Visitors arrive every summer. ' +
      'Local guides describe ancient customs. Winters stay cold; springs bring floods.',
    expect: 'gopher_quality/gopher_enough_stop_words',
  },
  { name: 'lorem-ipsum', text: `${CLEAN_EN}\n\nLorem ipsum dolor sit amet, consectetur adipiscing elit.`, expect: 'c4/lorem_ipsum' },
  { name: 'curly-bracket', text: `${CLEAN_EN}\n\nThe template renders {title} in the page header.`, expect: 'c4/curly_bracket' },
  { name: 'few-sentences', expect: 'c4/too_few_sentences',
    text: `${P1}\n\nHome About Products Services Contact Blog Careers Press\nShop by category: garden tools, kitchenware, lighting and bedding\nFollow us on social media for weekly offers and seasonal news\nCustomer service hours Monday through Friday nine until five` },
  { name: 'c4-line-removal', expect: 'kept',
    text: `Menu\n${P1}\nPlease enable JavaScript to view the comments.\n\n${P2}\nBy using this site you agree to our privacy policy.` },
  {
    name: 'no-punctuation',
    config: 'noc4',
    text: [P1, P2].flatMap((p) => p.split('. ')).map((l) => l.replace(/\.$/, '')).join('\n'),
    expect: 'fineweb/line_punct_ratio',
  },
  {
    name: 'short-lines',
    config: 'noc4',
    text: [P1, 'Open daily from nine.', 'Free parking nearby.', 'Tickets cost five euros.', 'Guided tours at noon.', 'Dogs are welcome.',
      'Cafe on the ground floor.', 'Lockers by the entrance.', 'Closed on public holidays.', 'Groups should book ahead.', 'Photography is allowed.'].join('\n'),
    expect: 'fineweb/short_line_ratio',
  },
  {
    // Two 4-word lines repeated apart: too few words in a row for the Gopher n-gram rules, > 10 % of the chars.
    name: 'dup-line-chars-fineweb',
    config: 'noc4',
    text: [...P1.split('. '), 'Subscribe for weekly newsletters.', 'Open daily.', 'Download printable itineraries here.', 'Subscribe for weekly newsletters.',
      'Closed on Mondays.', 'Download printable itineraries here.'].join('\n'),
    expect: 'fineweb/char_dup_ratio',
  },


  {
    name: 'list-like',
    config: 'noc4',
    text: ['Farmers harvested barley.', 'Historians reconstructed genealogies.', 'Shepherds gathered flocks.', 'Archaeologists uncovered pottery.',
      'Merchants exported wool.', 'Researchers documented migrations.', 'The harvest failed.', 'Cartographers surveyed coastlines.',
      'Villagers repaired roofs.', 'Travellers described monasteries.', 'Children collected firewood.', 'Blacksmiths forged horseshoes.',
      'Weavers produced blankets.', 'The bridges survived.', 'Rivers flooded.', 'Photographers captured landscapes.', 'Harvests improved.',
      'Fishermen mended nets.', 'Carpenters restored cathedrals.', 'Pilgrims crossed mountains.', 'Monasteries preserved manuscripts.'].join('\n'),
    expect: 'fineweb/list_ratio',
  },
  { name: 'clean-en-noc4', config: 'noc4', text: CLEAN_EN, expect: 'kept' },
];
