import { describe, expect, it } from "vitest";
import { APPROVE_TOKEN, DEPLOY_TOKEN, replicaResource, simServerResource } from "../test-server.js";

const canary = JSON.stringify({ name: "podinfo", namespace: "demo", phase: "Progressing", metadata: {} });
const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", body, headers: { "Content-Type": "application/json", ...headers } });

describe("Flagger webhook targets (flagger-loadtester's gate protocol)", () => {
  it("keeps confirm and rollback gates in the cluster: closed (403) until opened (202), on every replica", async () => {
    const server = await simServerResource();
    const replica = await replicaResource(server);
    const flagger = (base: string) => `${base}/flagger`;
    const approve = { Authorization: `Bearer ${APPROVE_TOKEN}` };

    expect((await post(`${flagger(server.base)}/gate/check`, canary)).status).toBe(403);
    expect((await post(`${flagger(server.base)}/rollback/check`, canary)).status).toBe(403);
    expect((await post(`${flagger(server.base)}/gate/halt`, canary)).status).toBe(403);
    expect((await post(`${flagger(server.base)}/gate/approve`, canary)).status).toBe(200);

    // Deciding takes an approve token: none, or a deploy token, is refused.
    expect((await post(`${flagger(server.base)}/gate/open`, canary)).status).toBe(401);
    expect(
      (await post(`${flagger(server.base)}/gate/open`, canary, { Authorization: `Bearer ${DEPLOY_TOKEN}` })).status,
    ).toBe(403);
    const opened = await post(`${flagger(server.base)}/gate/open`, canary, approve);
    expect(opened.status).toBe(202);
    const check = await post(`${flagger(replica.base)}/gate/check`, canary);
    expect([check.status, await check.text()]).toEqual([200, "Approved"]);
    // The rollback gate is another gate.
    expect((await post(`${flagger(replica.base)}/rollback/check`, canary)).status).toBe(403);

    // As rollout-client sends a decision to a webhook URL with credentials: Basic, the token as password.
    const basic = { Authorization: `Basic ${Buffer.from(`rollway:${APPROVE_TOKEN}`).toString("base64")}` };
    expect((await post(`${flagger(replica.base)}/rollback/open`, canary, basic)).status).toBe(202);
    expect((await post(`${flagger(server.base)}/rollback/check`, canary)).status).toBe(200);
    expect((await post(`${flagger(server.base)}/rollback/close`, canary, approve)).status).toBe(202);
    expect((await post(`${flagger(server.base)}/gate/close`, canary, approve)).status).toBe(202);
    expect((await post(`${flagger(replica.base)}/gate/check`, canary)).status).toBe(403);
    expect((await post(`${flagger(replica.base)}/rollback/check`, canary)).status).toBe(403);
  });

  it.each([
    { what: "a body that is not JSON", body: "{", status: 400 },
    { what: "a payload without a name", body: JSON.stringify({ namespace: "demo" }), status: 400 },
    {
      what: "a Canary of another namespace than the environment's",
      body: JSON.stringify({ name: "x", namespace: "kube-system" }),
      status: 403,
    },
  ])("answers $what with $status and a reason", async ({ body, status }) => {
    const server = await simServerResource();
    const res = await post(`${server.base}/flagger/gate/check`, body);
    expect(res.status).toBe(status);
    expect((await res.text()).length).toBeGreaterThan(5);
  });
});
