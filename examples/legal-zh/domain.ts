/**
 * Chinese legal-style domain for the legal-zh example: four case types of Chinese civil judgments (合同纠纷,
 * 劳动争议, 婚姻家庭, 知识产权), each a cluster of legal terms and the parties and things a 判决书 puts around
 * them; a general corpus of everyday sentences. Text is unsegmented Chinese (jieba segments it where a stage
 * needs words). The labeled sentences are everyday talk that names the term only.
 */
import type { TaskDomain } from '../demo/domain-task';

export const LEGAL_ZH: TaskDomain = {
  name: 'legal-judgments',
  lang: 'zh',
  topics: {
    合同纠纷: {
      terms: ['违约金', '定金', '解除合同', '履行期限', '违约责任', '合同无效', '预期违约', '格式条款'],
      context: ['出卖人', '买受人', '货款', '出借人', '借款人', '交付'],
    },
    劳动争议: {
      terms: ['经济补偿金', '加班费', '劳动合同', '工伤认定', '社会保险', '竞业限制', '试用期', '劳务派遣'],
      context: ['劳动者', '用人单位', '工资', '仲裁委员会', '岗位', '工会'],
    },
    婚姻家庭: {
      terms: ['离婚协议', '抚养权', '夫妻共同财产', '彩礼', '探望权', '抚养费', '家庭暴力', '婚前财产'],
      context: ['男方', '女方', '子女', '配偶', '婚姻登记机关', '父母'],
    },
    知识产权: {
      terms: ['专利权', '商标权', '著作权', '侵权赔偿', '商业秘密', '许可使用费', '不正当竞争', '实用新型'],
      context: ['发明人', '权利人', '注册商标', '作品', '被控侵权产品', '被许可人'],
    },
  },
  trainTerms: 3,
  corpusTemplates: [
    '本院认为，{context}与{context}之间关于{term}的事实清楚。',
    '{context}主张{term}，{context}对此不予认可。',
    '经审理查明，{context}未按约定处理{term}，应当承担{term}的后果。',
    '关于{term}的问题，{context}提交了{context}的证据。',
    '{context}依据{term}向本院提起诉讼，要求{context}支付相应款项。',
    '综上，{context}关于{term}和{term}的诉讼请求，本院予以支持。',
  ],
  generic: {
    who: ['客户', '邻居', '老师', '学生', '司机', '来电者'],
    when: ['周一', '周二', '周五', '周日', '周末', '一个下雨的早上'],
    where: ['市场', '车站', '图书馆', '花园', '厨房', '村口'],
  },
  labeledTemplates: [
    '{who}在{when}咨询了{term}的问题。',
    '{when}，我的{who}在{where}提到了{term}。',
    '我们聊了聊{term}，然后去了{where}。',
    '请在{when}之前看一下关于{term}的说明。',
  ],
  general: {
    slots: {
      person: ['老师', '农民', '孩子', '邻居', '医生', '面包师', '学生', '司机', '画家', '音乐家'],
      place: ['市场', '公园', '车站', '图书馆', '花园', '海边', '厨房', '博物馆', '村子', '河边'],
      thing: ['面包', '苹果', '鲜花', '自行车', '一本书', '咖啡', '风筝', '鞋子', '西红柿', '台灯'],
      day: ['周一', '周二', '周五', '周日', '周末', '一个下雨的早上', '一个晴朗的下午'],
      feel: ['高兴', '累', '好奇', '饿', '平静', '兴奋'],
    },
    templates: [
      '{person}在{day}去{place}买了{thing}。',
      '午饭后{person}觉得很{feel}，就沿着{place}散步。',
      '{day}我的{person}从{place}带回了{thing}。',
      '因为{place}里有很多{thing}，我们都很{feel}。',
    ],
  },
};
