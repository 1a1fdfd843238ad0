import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadConfig } from "./config.js";

// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary Kubernetes objects
type Obj = any;
const read = (file: string): Obj[] =>
  parseAllDocuments(readFileSync(new URL(`../deploy/${file}`, import.meta.url), "utf8")).map((d) => d.toJS());

describe("the Kubernetes manifests", () => {
  const [deployment] = read("deployment.yaml");
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it("run 2 replicas as non-root on a read-only root filesystem, with every capability dropped", () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(container.readinessProbe.httpGet.path).toBe("/readyz");
    // The grace period outlasts the server's own shutdown grace.
    const grace = Number(container.env.find((e: Obj) => e.name === "ROLLWAY_SHUTDOWN_GRACE_MS").value);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(grace);
  });

  it("mount the tokens Secret where ROLLWAY_TOKENS_DIR points, in the layout the server reads", () => {
    const [secret] = read("secret.yaml").filter((d: Obj) => d.metadata.name === "rollway-webhook-tokens");
    const dir = container.env.find((e: Obj) => e.name === "ROLLWAY_TOKENS_DIR").value;
    const mount = container.volumeMounts.find((m: Obj) => m.mountPath === dir);
    expect(pod.volumes.find((v: Obj) => v.name === mount.name).secret.secretName).toBe(secret.metadata.name);
    for (const name of Object.keys(secret.stringData))
      expect(name).toMatch(/^(deploy|approve)\.[a-z0-9_-]+\.[a-z0-9_-]+$/);
    const [environments] = read("configmap.yaml");
    for (const name of Object.keys(environments.data)) expect(name).toMatch(/^[a-z0-9-]+\.[a-z0-9-]+\.yaml$/);
    expect(() => loadConfig({})).not.toThrow();
  });

  it("give every replica the same dashboard session key, from its own Secret (sessions hold across replicas)", () => {
    const key = container.env.find((e: Obj) => e.name === "ROLLWAY_SESSION_KEY");
    const ref = key.valueFrom.secretKeyRef;
    const secret = read("secret.yaml").find((d: Obj) => d.metadata.name === ref.name);
    expect(secret.kind).toBe("Secret");
    expect(ref.name).not.toBe("rollway-webhook-tokens");
    expect(secret.stringData[ref.key].length).toBeGreaterThanOrEqual(32);
    expect(() => loadConfig({ ROLLWAY_SESSION_KEY: secret.stringData[ref.key] })).not.toThrow();
  });

  it("grant a least-privilege Role: no wildcard, no Secrets, no cluster scope", () => {
    const [role, binding] = read("role.yaml");
    expect(role.kind).toBe("Role");
    for (const rule of role.rules) {
      expect(rule.resources).not.toContain("*");
      expect(rule.verbs).not.toContain("*");
      expect(rule.resources).not.toContain("secrets");
    }
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: "rollway-webhook-server", namespace: "rollway" },
    ]);
    expect(pod.serviceAccountName).toBe("rollway-webhook-server");
  });
});
