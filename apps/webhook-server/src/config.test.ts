import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

const dir = mkdtempSync(join(tmpdir(), "rollway-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loadConfig", () => {
  it("uses documented defaults", () => {
    expect(loadConfig({})).toMatchObject({
      host: "0.0.0.0",
      port: 8080,
      bodyLimitBytes: 1048576,
      rateLimitPerMinute: 120,
      tokens: [],
    });
  });

  it("reads the public upgrade stream's origins from a comma-separated variable, and refuses one that is not", () => {
    expect(loadConfig({}).publicUpgradeOrigins).toEqual([]);
    expect(
      loadConfig({ ROLLWAY_PUBLIC_UPGRADE_ORIGINS: "https://app.example.com, https://admin.example.com" })
        .publicUpgradeOrigins,
    ).toEqual(["https://app.example.com", "https://admin.example.com"]);
    expect(() => loadConfig({ ROLLWAY_PUBLIC_UPGRADE_ORIGINS: "app.example.com" })).toThrow(
      /ROLLWAY_PUBLIC_UPGRADE_ORIGINS \(publicUpgradeOrigins\.0\): .*expected \* or an origin such as https:\/\/app\.example\.com/,
    );
  });

  it("reads variables over the file over defaults", () => {
    const file = join(dir, "config.yaml");
    writeFileSync(file, "port: 9000\nlogLevel: debug\nrateLimitPerMinute: 5\n");
    expect(loadConfig({ ROLLWAY_CONFIG: file, ROLLWAY_PORT: "9100" })).toMatchObject({
      port: 9100,
      logLevel: "debug",
      rateLimitPerMinute: 5,
    });
  });

  it("reads tokens from mounted secret files, two lines while rotating, skipping Kubernetes' hidden entries", () => {
    const tokens = join(dir, "tokens");
    mkdirSync(tokens);
    writeFileSync(join(tokens, "deploy.shop.prod"), "old-token-0123456789abcdef\nnew-token-0123456789abcdef\n");
    writeFileSync(join(tokens, "approve.shop._"), "approver-0123456789abcdef\n");
    mkdirSync(join(tokens, "..2026_11_27"));
    symlinkSync("..2026_11_27", join(tokens, "..data"));
    expect(loadConfig({ ROLLWAY_TOKENS_DIR: tokens }).tokens).toEqual([
      { scope: "approve", project: "shop", environment: "*", tokens: ["approver-0123456789abcdef"] },
      {
        scope: "deploy",
        project: "shop",
        environment: "prod",
        tokens: ["old-token-0123456789abcdef", "new-token-0123456789abcdef"],
      },
    ]);
  });

  it("names the bad variable without echoing its secret content", () => {
    expect(() => loadConfig({ ROLLWAY_TOKENS: "[{secret-token-value" })).toThrowError(
      "ROLLWAY_TOKENS: expected a JSON array (its content is not shown because it holds secrets)",
    );
    expect(() => loadConfig({ ROLLWAY_TOKENS: "[{secret-token-value" })).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID" }),
    );
  });

  it("reads the dashboard's session key from ROLLWAY_SESSION_KEY, refusing a short one by name without echoing it", () => {
    const key = "0123456789abcdef0123456789abcdef-session";
    expect(loadConfig({ ROLLWAY_SESSION_KEY: key }).dashboard.sessionKey).toBe(key);
    expect(loadConfig({}).dashboard.sessionKey).toBeUndefined();
    let message = "";
    try {
      loadConfig({ ROLLWAY_SESSION_KEY: "short-secret-key" });
    } catch (error) {
      message = (error as Error).message;
      expect(error).toMatchObject({ code: "CONFIG_INVALID" });
    }
    expect(message).toContain("ROLLWAY_SESSION_KEY (dashboard.sessionKey): at least 32 characters");
    expect(message).not.toContain("short-secret-key");
  });

  it("names every invalid field, and the variable that set it (code CONFIG_INVALID)", () => {
    expect(() =>
      loadConfig({
        ROLLWAY_PORT: "70000",
        ROLLWAY_TOKENS: JSON.stringify([{ scope: "deploy", project: "Shop", environment: "prod", tokens: ["short"] }]),
      }),
    ).toThrowError(
      /ROLLWAY_PORT \(port\): .*\n {2}tokens\.0\.project: a lowercase DNS label or \*\n {2}tokens\.0\.tokens\.0: tokens must be at least 16 characters/,
    );
  });
});
