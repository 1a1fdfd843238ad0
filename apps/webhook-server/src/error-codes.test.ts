/**
 * release's one code map (`@rollway/release/error-codes`) lists the codes of the packages it does not depend on as
 * strings; the server depends on notifications, so here the compiler checks that the map knows every code the
 * server can meet from it and from its own ConfigError (a code missing there does not compile).
 */
import type { NotificationErrorCode } from "@rollway/notifications";
import { httpStatusOfCode, type KnownErrorCode } from "@rollway/release/error-codes";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { ConfigError } from "./config.js";

describe("the HTTP statuses of the codes the server meets beyond the engine's", () => {
  it("give every code of notifications and of ConfigError a status: a delivery that failed is a bad gateway", () => {
    expectTypeOf<Exclude<NotificationErrorCode | ConfigError["code"], KnownErrorCode>>().toEqualTypeOf<never>();
    expect(httpStatusOfCode("DELIVERY")).toBe(502);
    expect(httpStatusOfCode("CONFIG_INVALID")).toBe(500);
  });
});
