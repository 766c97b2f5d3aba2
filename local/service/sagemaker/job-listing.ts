/**
 * One List*Jobs for every job kind local mode lists (ListTrainingJobs, ListProcessingJobs, ListTransformJobs,
 * ListHyperParameterTuningJobs). SageMaker's service model documents the same request for each: NameContains,
 * StatusEquals, CreationTimeAfter/Before and LastModifiedTimeAfter/Before filters, SortBy Name | CreationTime |
 * Status, SortOrder, and NextToken / MaxResults pagination. Only the defaults differ by operation.
 */
import { paginate } from '../core/protocol';
import type { Body } from '../core/request-fields';

/** The fields every listed job record has. */
export interface ListedJob {
  CreationTime: number;
  LastModifiedTime: number;
}

/** What a kind's List*Jobs needs to know. */
export interface JobListing<Job extends ListedJob> {
  /** The record's name field ("TrainingJobName"): NameContains and SortBy Name read it. */
  nameField: keyof Job & string;
  /** The record's status field ("TrainingJobStatus"): StatusEquals and SortBy Status read it. */
  statusField: keyof Job & string;
  /** SortBy when the request names none (the operation's documented default). */
  sortBy: 'Name' | 'CreationTime';
  /** SortOrder when the request names none (ListTransformJobs: Descending; the others: Ascending). */
  sortOrder: 'Ascending' | 'Descending';
  /** NameContains ignores case (the job kinds' tables); ListHyperParameterTuningJobs here matches it as given. */
  nameIgnoresCase: boolean;
  /** Page size when MaxResults is absent, and the largest page. */
  pageSize?: { default: number; max: number };
}

/** Sorts records by one field, in SageMaker's SortOrder. */
export function sortRecords<T>(items: T[], key: keyof T, order: 'Ascending' | 'Descending'): T[] {
  const sign = order === 'Ascending' ? 1 : -1;
  return [...items].sort((a, b) => {
    const x = a[key] as unknown as string | number;
    const y = b[key] as unknown as string | number;
    return x < y ? -sign : x > y ? sign : 0;
  });
}

/** The page of `jobs` a List*Jobs request asks for (timestamps are epoch seconds, as the JSON protocol sends them). */
export function listJobs<Job extends ListedJob>(
  jobs: Job[],
  b: Body,
  listing: JobListing<Job>,
): { page: Job[]; NextToken?: string } {
  const fold = (s: string) => (listing.nameIgnoresCase ? s.toLowerCase() : s);
  const nameContains = b.NameContains === undefined ? undefined : fold(b.NameContains as string);
  const status = b.StatusEquals as string | undefined;
  const time = (field: string) => b[field] as number | undefined;
  const after = (t: number, bound: number | undefined) => bound === undefined || t > bound;
  const before = (t: number, bound: number | undefined) => bound === undefined || t < bound;
  const kept = jobs.filter(
    (job) =>
      (!nameContains || fold(job[listing.nameField] as string).includes(nameContains)) &&
      (!status || job[listing.statusField] === status) &&
      after(job.CreationTime, time('CreationTimeAfter')) &&
      before(job.CreationTime, time('CreationTimeBefore')) &&
      after(job.LastModifiedTime, time('LastModifiedTimeAfter')) &&
      before(job.LastModifiedTime, time('LastModifiedTimeBefore')),
  );
  const sortBy = (b.SortBy as string | undefined) ?? listing.sortBy;
  const key: keyof Job =
    sortBy === 'Name' ? listing.nameField : sortBy === 'Status' ? listing.statusField : 'CreationTime';
  const order = (b.SortOrder as 'Ascending' | 'Descending' | undefined) ?? listing.sortOrder;
  return paginate(sortRecords(kept, key, order), b, listing.pageSize?.default, listing.pageSize?.max);
}
