import { describe, expect, it } from "vitest";
import { type GetInput, InputError, readInputs } from "./inputs.js";

const from =
  (inputs: Record<string, string>): GetInput =>
  (name) =>
    inputs[name] ?? "";
const webhook = { "server-url": "https://rollway.example.com/", token: "t", environment: "prod" };

describe("readInputs", () => {
  it("reads a webhook release from images and rules, with the defaults", () => {
    const inputs = readInputs(from({ ...webhook, images: "r/a:1\n\n r/b:2 ", rules: '[{"source":"a","target":"b"}]' }));
    expect(inputs).toMatchObject({
      mode: "webhook",
      serverUrl: "https://rollway.example.com",
      project: "default",
      wait: "promoted",
      timeoutSeconds: 1800,
      payloadFile: undefined,
    });
    expect(JSON.parse(inputs.payloadText)).toEqual({
      backends: { images: ["r/a:1", "r/b:2"], deployRules: [{ source: "a", target: "b" }] },
    });
  });

  it.each([
    ["true", "promoted"],
    ["false", "none"],
    ["preview", "preview"],
    ["none", "none"],
  ])("reads wait: %s as %s", (wait, expected) => {
    expect(readInputs(from({ ...webhook, "frontend-image": "r/f:1", wait })).wait).toBe(expected);
  });

  it("reads a promote decision without a payload", () => {
    const inputs = readInputs(from({ ...webhook, mode: "promote", "release-id": "prod-1" }));
    expect(inputs).toMatchObject({ mode: "promote", releaseId: "prod-1", payloadText: "" });
  });

  it.each([
    [{ ...webhook, mode: "push" }, "mode", 'mode: "push" is unknown; use webhook, direct, promote, abort'],
    [{ ...webhook, wait: "forever" }, "wait", 'wait: "forever" is unknown; use promoted, preview, none'],
    [{ ...webhook, mode: "abort" }, "release-id", "release-id: abort needs the release id"],
    [{ ...webhook, token: "" }, "token", "token: webhook mode needs a token with the deploy scope"],
    [{ ...webhook, "server-url": "" }, "server-url", "server-url: give the rollway server's URL"],
    [{ ...webhook, "server-url": "ftp://x" }, "server-url", 'server-url: "ftp://x" is not http(s)'],
    [
      { ...webhook, "server-url": "https://u:p4ss@h.example" },
      "server-url",
      'server-url: "https://***@h.example/" carries credentials',
    ],
    [{ ...webhook, timeout: "-3" }, "timeout", 'timeout: "-3" is not a positive number of seconds'],
    [{ ...webhook, "promotion-mode": "later" }, "promotion-mode", 'promotion-mode: "later" is unknown'],
    [{ ...webhook, payload: "{}", images: "r/a:1" }, "payload", "payload: give either payload or images"],
    [webhook, "payload", "payload: nothing to deploy"],
    [{ ...webhook, images: "r/a:1", rules: "[oops" }, "rules", "rules: not JSON"],
    [
      { ...webhook, payload: "/nonexistent/payload.json" },
      "payload",
      'cannot read the file "/nonexistent/payload.json" (ENOENT)',
    ],
  ])("refuses %o naming the input %s", (inputs, input, message) => {
    let error: unknown;
    try {
      readInputs(from(inputs as Record<string, string>));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect(error).toMatchObject({ input, code: "BAD_INPUT" });
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain("p4ss");
  });
});
