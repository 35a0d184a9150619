import type { ReportData } from '../gather';

/** One part of the report page: a heading and its HTML body (which says so when its stages are absent). */
export interface Section {
  id: string;
  title: string;
  render(data: ReportData): string;
}
