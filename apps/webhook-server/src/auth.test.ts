import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Authenticator, type Scope, type TokenGrant } from "./auth.js";
import { APPROVE_TOKEN, DEPLOY_TOKEN, DEPLOY_TOKEN_NEXT, OTHER_TOKEN } from "./test-server.js";

const grants: TokenGrant[] = [
  { scope: "deploy", project: "shop", environment: "prod", tokens: [DEPLOY_TOKEN, DEPLOY_TOKEN_NEXT] },
  { scope: "approve", project: "shop", environment: "prod", tokens: [APPROVE_TOKEN] },
  { scope: "deploy", project: "blog", environment: "*", tokens: [OTHER_TOKEN] },
];

/** Headers a server meets: valid tokens, near misses of the same length, malformed and missing ones. */
const headers = fc.constantFrom<string | undefined>(
  `Bearer ${DEPLOY_TOKEN}`,
  `Bearer ${DEPLOY_TOKEN_NEXT}`,
  `Bearer ${APPROVE_TOKEN}`,
  `Bearer ${OTHER_TOKEN}`,
  // The same length as the deploy token, one character off at its start, middle or end.
  `Bearer x${DEPLOY_TOKEN.slice(1)}`,
  `Bearer ${DEPLOY_TOKEN.slice(0, 10)}x${DEPLOY_TOKEN.slice(11)}`,
  `Bearer ${DEPLOY_TOKEN.slice(0, -1)}x`,
  `Bearer ${DEPLOY_TOKEN.slice(0, -1)}`,
  `bearer ${DEPLOY_TOKEN}`,
  `Bearer  ${DEPLOY_TOKEN}`,
  `Basic ${DEPLOY_TOKEN}`,
  "Bearer ",
  "",
  undefined,
);
const places = fc.record({
  scope: fc.constantFrom<Scope>("deploy", "approve"),
  project: fc.constantFrom("shop", "blog", "other"),
  environment: fc.constantFrom("prod", "staging"),
});

describe("Authenticator", () => {
  it("judges every request as a fresh Authenticator would, whatever came before it (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(headers, places), { minLength: 1, maxLength: 40 }), (requests) => {
        const kept = new Authenticator(grants);
        for (const [header, { scope, project, environment }] of requests) {
          const expected = new Authenticator(grants).authorize(header, scope, project, environment);
          expect(kept.authorize(header, scope, project, environment)).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("answers 200, 401, 403 by token and place, also when the same header comes again", () => {
    const auth = new Authenticator(grants);
    const deploy = `Bearer ${DEPLOY_TOKEN}`;
    for (let i = 0; i < 3; i++) {
      expect(auth.authorize(deploy, "deploy", "shop", "prod")).toMatchObject({ ok: true });
      expect(auth.authorize(deploy, "approve", "shop", "prod")).toEqual({
        ok: false,
        status: 403,
        reason: "forbidden",
      });
      expect(auth.authorize(`Bearer ${DEPLOY_TOKEN.slice(0, -1)}x`, "deploy", "shop", "prod")).toEqual({
        ok: false,
        status: 401,
        reason: "unauthenticated",
      });
    }
  });
});
