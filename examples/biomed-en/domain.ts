/**
 * English biomedical-style domain for the biomed-en example: four clinical topics, each a cluster of drugs,
 * diseases and procedures (ordered so the labeled train terms of a topic hold one of each kind) and the context
 * words an abstract puts around them. The labeled sentences are clinic small talk that names the term only.
 */
import type { TaskDomain } from '../demo/domain-task';

export const BIOMED_EN: TaskDomain = {
  name: 'biomed-abstracts',
  lang: 'en',
  topics: {
    cardiology: {
      terms: ['warfarin', 'arrhythmia', 'angioplasty', 'amiodarone', 'cardiomyopathy', 'echocardiography', 'digoxin', 'angina'],
      context: ['ventricular', 'coronary', 'myocardial', 'ejection', 'valve', 'atrial'],
    },
    oncology: {
      terms: ['tamoxifen', 'melanoma', 'mastectomy', 'cisplatin', 'lymphoma', 'radiotherapy', 'doxorubicin', 'sarcoma'],
      context: ['tumor', 'metastatic', 'malignant', 'biopsy', 'remission', 'staging'],
    },
    neurology: {
      terms: ['levetiracetam', 'epilepsy', 'craniotomy', 'donepezil', 'parkinsonism', 'electroencephalography', 'gabapentin', 'migraine'],
      context: ['cortical', 'neuronal', 'cognitive', 'cerebral', 'motor', 'synaptic'],
    },
    infectious: {
      terms: ['amoxicillin', 'tuberculosis', 'vaccination', 'oseltamivir', 'malaria', 'serology', 'vancomycin', 'sepsis'],
      context: ['viral', 'bacterial', 'pathogen', 'antimicrobial', 'outbreak', 'fever'],
    },
  },
  trainTerms: 3,
  corpusTemplates: [
    'In this cohort, {term} was compared with {term} among {context} cases.',
    'We report {context} outcomes after {term} in adults with {context} findings.',
    'Patients receiving {term} showed fewer {context} events than those with {term}.',
    'The {context} response to {term} was assessed by {context} markers.',
    'Background: {term} remains a {context} concern despite {term}.',
    'Conclusion: {term} improved {context} and {context} endpoints at one year.',
  ],
  generic: {
    who: ['patient', 'visitor', 'relative', 'caller', 'student', 'neighbour'],
    when: ['monday', 'tuesday', 'friday', 'sunday', 'the weekend', 'a rainy morning'],
    where: ['lobby', 'station', 'library', 'garden', 'kitchen', 'village'],
  },
  labeledTemplates: [
    'The {who} asked about {term} on {when}.',
    'On {when} my {who} mentioned {term} at the {where}.',
    'We talked about {term} and then walked to the {where}.',
    'Please read the leaflet on {term} before {when}.',
  ],
  entities: {
    DRUG: ['warfarin', 'amiodarone', 'digoxin', 'tamoxifen', 'cisplatin', 'doxorubicin', 'levetiracetam', 'donepezil', 'gabapentin', 'amoxicillin', 'oseltamivir', 'vancomycin'],
    DISEASE: ['arrhythmia', 'cardiomyopathy', 'angina', 'melanoma', 'lymphoma', 'sarcoma', 'epilepsy', 'parkinsonism', 'migraine', 'tuberculosis', 'malaria', 'sepsis'],
  },
};
