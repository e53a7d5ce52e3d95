import { z } from 'zod';
import * as limits from '../limits.ts';

/**
 * Feedback after delivery: one question (a rating from 1 to 5 and an optional comment), one answer
 * per order. Invariant: a second answer is refused and the first kept. Enforced by the hub's
 * conditional update (only a row with no rating yet takes one); tested.
 */
export const feedbackRatings = [1, 2, 3, 4, 5] as const;
export type FeedbackRating = (typeof feedbackRatings)[number];

/** The page's form as posted (`application/x-www-form-urlencoded`): the rating arrives as text. */
export const feedbackFormSchema = z.object({
  rating: z.enum(['1', '2', '3', '4', '5'], 'choose a rating from 1 to 5').transform((value) => Number(value)),
  comment: z
    .string()
    .max(limits.feedbackCommentLengthMax, `a comment has at most ${limits.feedbackCommentLengthMax} characters`)
    .transform((value) => value.trim())
    .optional(),
});
export type FeedbackAnswer = z.infer<typeof feedbackFormSchema>;

export type RatingDistribution = Record<'1' | '2' | '3' | '4' | '5', number>;
export type RatingSummary = { count: number; average: number | null; distribution: RatingDistribution };

/** Count, average (two decimals; null when nothing was rated) and the count of each rating. */
export function ratingSummary(counts: ReadonlyArray<{ rating: number; count: number }>): RatingSummary {
  const distribution: RatingDistribution = { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 };
  let count = 0;
  let sum = 0;
  for (const { rating, count: n } of counts) {
    const key = String(rating) as keyof RatingDistribution;
    if (!(key in distribution) || n <= 0) continue;
    distribution[key] += n;
    count += n;
    sum += rating * n;
  }
  return { count, average: count === 0 ? null : Math.round((sum / count) * 100) / 100, distribution };
}
