/** The PromotionError a call refuses with; anything else (success, another error) fails the test with what it was. */
import { PromotionError } from "../errors.js";

export async function refusal(run: Promise<unknown>): Promise<PromotionError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error instanceof PromotionError) return error;
  throw new Error(`expected a PromotionError, got ${String(error)}`);
}
