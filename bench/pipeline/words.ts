/**
 * Word lists of the bench:pipeline web corpus: real words, so language identification (dapt's CLD3, a reader
 * of the output) sees real English, German, French and Chinese, and large enough that two generated articles
 * share almost no 5-word shingles while one article rarely repeats itself (Gopher's repetition rules).
 */

export const EN = {
  det: ['the', 'a', 'this', 'that', 'every', 'each', 'another', 'their', 'our', 'its', 'one', 'some'],
  noun: (
    'council harbour river village market bridge school library museum station garden farmer teacher engineer doctor student ' +
    'family company factory railway road forest mountain island valley city town street church hospital winter summer spring ' +
    'autumn morning evening report survey budget plan proposal project committee government minister director manager worker ' +
    'resident neighbour visitor tourist artist writer musician painter festival concert exhibition collection letter book map ' +
    'photograph record journal newspaper article machine engine tool device system network signal computer program study ' +
    'experiment theory result figure number price wage loan bank shop bakery kitchen meal bread wine coffee water weather ' +
    'storm flood drought harvest field crop animal horse bird tree flower stone wall roof window door house building tower ' +
    'castle path train bicycle truck airport ticket holiday journey history language culture music science medicine energy ' +
    'light sound colour painting sculpture theatre audience player coach team match season league stadium election voter ' +
    'court judge lawyer police officer soldier pilot driver nurse patient clinic vaccine disease climate forecast rainfall ' +
    'glacier desert coast beach lake pond canal tunnel highway suburb district province region border nation republic kingdom'
  ).split(' '),
  adj: (
    'old new small large quiet busy ancient modern local national public private early late final annual careful sudden ' +
    'gradual strong weak bright dark narrow wide heavy light cheap expensive famous unknown popular rare common simple complex ' +
    'useful difficult generous patient curious nervous proud honest clever gentle brave calm cold warm dry wet green golden ' +
    'wooden empty crowded distant nearby northern southern eastern western rural urban detailed official unusual familiar ' +
    'remarkable ordinary seasonal regional international historic practical technical musical medical scientific cultural'
  ).split(' '),
  verb: (
    'announced reviewed questioned completed described rejected supported measured published restored visited repaired built ' +
    'opened closed painted explained discovered examined collected delivered prepared improved replaced designed planned ' +
    'organised recorded protected studied tested followed reached crossed carried opposed approved welcomed praised criticised ' +
    'ignored noticed remembered celebrated compared counted divided shared sold bought borrowed returned moved lifted lowered ' +
    'cleaned filled emptied watched reported produced reduced increased expanded limited finished started continued'
  ).split(' '),
  adv: ('quickly slowly carefully quietly finally suddenly recently gradually openly eventually rarely often usually again already ' + 'still clearly barely nearly largely').split(' '),
  prep: ['in', 'on', 'near', 'behind', 'across', 'under', 'above', 'beyond', 'around', 'along', 'through', 'beside', 'before', 'after', 'during', 'against', 'toward', 'inside', 'outside', 'without'],
  conj: ['and', 'but', 'because', 'while', 'although', 'so', 'since', 'after', 'before', 'until', 'when', 'whereas'],
};

/** The seed domain of the select stage: shipping and ports. */
export const DOMAIN = {
  noun: (
    'vessel hull cargo container tanker anchor berth quay pilot tugboat ballast draught crane freight dredger lighthouse ' +
    'navigation sonar keel rudder propeller mooring customs shipyard carrier dock harbourmaster tide breakwater wharf ' +
    'terminal gantry bulkhead deck bridge helm lifeboat buoy channel fairway convoy schooner trawler ferry liner stevedore ' +
    'manifest bill tonnage knot hawser capstan winch bunker'
  ).split(' '),
  adj: ['maritime', 'naval', 'nautical', 'coastal', 'offshore', 'seaworthy', 'tidal', 'refrigerated', 'bonded', 'deepwater', 'laden', 'ballasted'],
};

export const DE = {
  det: ['der', 'die', 'das', 'ein', 'eine', 'dieser', 'jede', 'unser', 'kein'],
  noun: (
    'Stadt Hafen Fluss Dorf Markt Brücke Schule Bibliothek Museum Bahnhof Garten Bauer Lehrer Ingenieur Arzt Familie Firma ' +
    'Fabrik Straße Wald Berg Insel Kirche Winter Sommer Morgen Abend Bericht Plan Projekt Regierung Leiter Arbeiter Nachbar ' +
    'Besucher Künstler Fest Konzert Ausstellung Sammlung Brief Buch Karte Zeitung Maschine Werkzeug Ergebnis Preis Kosten ' +
    'Bank Laden Küche Brot Wasser Wetter Sturm Ernte Feld Pferd Vogel Baum Blume Stein Mauer Fenster Haus Turm Weg Zug Reise ' +
    'Geschichte Sprache Musik Wissenschaft Energie Licht Mannschaft Gericht Polizei Wahl Küste Grenze'
  ).split(' '),
  verb: ['hat', 'wurde', 'baute', 'öffnete', 'schloss', 'prüfte', 'zeigte', 'erklärte', 'fand', 'brachte', 'verkaufte', 'kaufte', 'plante', 'beschrieb', 'besuchte', 'sammelte', 'veröffentlichte', 'unterstützte', 'lehnte', 'lobte'],
  adj: ['alte', 'neue', 'kleine', 'große', 'ruhige', 'schöne', 'lange', 'kurze', 'schwere', 'leichte', 'dunkle', 'helle', 'öffentliche', 'regionale', 'jährliche', 'ungewöhnliche', 'bekannte', 'frühe', 'späte', 'nördliche'],
  fill: ['und', 'aber', 'nicht', 'auch', 'noch', 'schon', 'sehr', 'immer', 'wieder', 'mit', 'nach', 'bei', 'für', 'über', 'unter', 'zwischen', 'während', 'weil', 'obwohl', 'dass', 'im', 'am', 'zum', 'vom'],
};

export const FR = {
  det: ['le', 'la', 'les', 'un', 'une', 'ce', 'cette', 'chaque', 'notre', 'leur'],
  noun: (
    'ville port rivière village marché pont école bibliothèque musée gare jardin agriculteur professeur ingénieur médecin ' +
    'famille entreprise usine rue forêt montagne île église hiver été matin soir rapport plan projet gouvernement directeur ' +
    'ouvrier voisin visiteur artiste fête concert exposition collection lettre livre carte journal machine outil résultat ' +
    'prix banque boutique cuisine pain eau temps tempête récolte champ cheval oiseau arbre fleur pierre mur fenêtre maison ' +
    'tour chemin train voyage histoire langue musique science énergie lumière équipe tribunal police élection côte frontière'
  ).split(' '),
  verb: ['a construit', 'a ouvert', 'a fermé', 'a examiné', 'a montré', 'a expliqué', 'a trouvé', 'a apporté', 'a vendu', 'a acheté', 'a prévu', 'a décrit', 'a visité', 'a réuni', 'a publié', 'a soutenu', 'a refusé', 'a salué', 'a réparé', 'a mesuré'],
  adj: ['ancien', 'nouveau', 'petit', 'grand', 'calme', 'beau', 'long', 'court', 'lourd', 'léger', 'sombre', 'clair', 'public', 'régional', 'annuel', 'étrange', 'célèbre', 'premier', 'dernier', 'septentrional'],
  fill: ['et', 'mais', 'ne', 'pas', 'aussi', 'encore', 'déjà', 'très', 'toujours', 'avec', 'après', 'chez', 'pour', 'sur', 'sous', 'entre', 'pendant', 'parce que', 'bien que', 'qui', 'dans', 'du', 'des', 'au'],
};

export const ZH = {
  noun: (
    '城市 港口 河流 村庄 市场 大桥 学校 图书馆 博物馆 车站 花园 农民 老师 工程师 医生 学生 家庭 公司 工厂 铁路 道路 森林 高山 岛屿 山谷 ' +
    '街道 医院 冬天 夏天 春天 秋天 早晨 晚上 报告 调查 预算 计划 方案 项目 委员会 政府 部长 主任 经理 工人 居民 邻居 游客 艺术家 作家 ' +
    '音乐家 节日 音乐会 展览 信件 书籍 地图 照片 记录 报纸 文章 机器 工具 设备 系统 网络 研究 实验 理论 结果 价格 成本 工资 银行 ' +
    '商店 厨房 面包 咖啡 天气 暴雨 洪水 干旱 收成 田野 庄稼 动物 树木 石头 窗户 房子 建筑 铁塔 城堡 火车 机场 假期 旅行 历史 语言 文化'
  ).split(' '),
  verb: ['公布了', '审查了', '完成了', '介绍了', '支持了', '修复了', '测量了', '讨论了', '建造了', '打开了', '关闭了', '解释了', '发现了', '收集了', '准备了', '改进了', '设计了', '记录了', '保护了', '研究了'],
  adj: ['古老的', '崭新的', '安静的', '繁忙的', '当地的', '全国的', '公共的', '年度的', '详细的', '著名的', '普通的', '重要的', '遥远的', '附近的', '北方的', '南方的'],
  fill: ['经过几个月的讨论', '尽管仍有不少反对意见', '在周二发布的报告中', '在地方合作伙伴的帮助下', '虽然还有许多问题没有解决', '根据最新的数据', '在过去的一年里', '为了满足居民的需要'],
};

export const SHOP = ['Blue ceramic mug', 'Garden hose 25 m', 'Wool scarf', 'Steel kettle', 'Oak side table', 'Rain jacket', 'LED desk lamp', 'Cotton towels', 'Hiking boots', 'Glass vase'];
