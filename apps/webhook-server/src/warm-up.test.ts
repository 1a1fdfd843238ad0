/**
 * The server warms its payload parser at start (server.ts, warmPayloadParser) with the seed example: that must stay
 * free of recheck (whose worker costs 40-70 MiB) and invisible to users (no request, nothing counted).
 */
import { knownRulePatternVerdict } from "@rollway/deploy-rules";
import { EXAMPLE_PAYLOAD_TEXT } from "@rollway/payload-schema";
import { describe, expect, it } from "vitest";
import { startTestServer } from "./test-server.js";

describe("the payload parser's warm-up at start", () => {
  it("uses only rule patterns whose verdicts are known before any check (precomputed): no recheck worker starts", () => {
    // First in this file, before any server or parse: only precomputed verdicts can be known here.
    const rules = (
      JSON.parse(EXAMPLE_PAYLOAD_TEXT) as { backends: { deployRules: { source: string; target: string }[] } }
    ).backends.deployRules;
    const patterns = rules.flatMap((r) => [r.source, r.target]);
    expect(patterns.length).toBeGreaterThan(0);
    for (const pattern of patterns) expect([pattern, knownRulePatternVerdict(pattern)?.ok]).toEqual([pattern, true]);
  });

  it("counts nothing: a started server's /metrics shows no validated payload and no request", async () => {
    await using server = await startTestServer();
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain("# TYPE rollway_payloads_validated_total counter");
    expect(text).not.toMatch(/^rollway_payloads_validated_total\{/m);
    expect(text).not.toMatch(/^rollway_http_requests_total\{/m);
  });
});
