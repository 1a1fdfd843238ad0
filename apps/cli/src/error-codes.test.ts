/**
 * release's one code map (`@rollway/release/error-codes`) lists the codes of the packages it does not depend on as
 * strings; the CLI depends on them all, so here the compiler checks that the two agree (a code a package adds and the
 * map misses does not compile), and the exit codes the README documents hold for them.
 */
import type { PromotionErrorCode } from "@rollway/env-promotion";
import type { ImageBuildErrorCode } from "@rollway/image-builder";
import type { KubeSimErrorCode } from "@rollway/kube-sim";
import { exitCodeOfCode, type KnownErrorCode } from "@rollway/release/error-codes";
import type { SnapshooterErrorCode } from "@rollway/snapshooter";
import { describe, expect, expectTypeOf, it } from "vitest";

describe("the exit codes of the packages the CLI runs", () => {
  it("give every code of env-promotion, image-builder, snapshooter and kube-sim an exit code; --wait running out is 3", () => {
    type Unmapped = Exclude<
      PromotionErrorCode | ImageBuildErrorCode | SnapshooterErrorCode | KubeSimErrorCode,
      KnownErrorCode
    >;
    expectTypeOf<Unmapped>().toEqualTypeOf<never>();
    // `promote-env --wait`: out of time is "timed out" (3); what it met while waiting is a failure (1).
    expect(
      Object.fromEntries(
        ["WAIT_TIMEOUT", "TARGET_DEGRADED", "PULL_REQUEST_CLOSED", "ARGOCD_REQUEST_FAILED"].map((c) => [
          c,
          exitCodeOfCode(c),
        ]),
      ),
    ).toEqual({ WAIT_TIMEOUT: 3, TARGET_DEGRADED: 1, PULL_REQUEST_CLOSED: 1, ARGOCD_REQUEST_FAILED: 1 });
  });
});
