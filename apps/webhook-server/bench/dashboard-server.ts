/**
 * The server side of bench/dashboard.ts, in its own process so that its time and memory are the server's alone
 * (kube-sim runs in the bench's process): the server against the kubeconfig in BENCH_KUBECONFIG and the environment
 * file in BENCH_ENVIRONMENT. Prints one JSON line (url, tokens) when ready; stops on SIGTERM.
 * `seedBench` builds that world: kube-sim with an environment of N blue-green components.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultCrdSources, startKubeSim } from "@rollway/kube-sim";
import { ServerConfigSchema } from "../src/config.js";
import { startServer } from "../src/server.js";

export async function seedBench(N: number) {
  const ns = "bench";
  const names = ["frontend", ...Array.from({ length: N - 1 }, (_v, i) => `backend-${i + 1}`)];
  const sim = await startKubeSim({ namespace: ns, readyDelayMs: 50, crds: defaultCrdSources() });
  const send = async (path: string, body: unknown) => {
    const res = await fetch(`${sim.url}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  };
  await send("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  for (const name of names) {
    for (const svc of [name, `${name}-preview`])
      await send(`/api/v1/namespaces/${ns}/services`, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: svc },
        spec: { selector: { app: name }, ports: [{ port: 80 }] },
      });
    await send(`/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts`, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: "app", image: `registry/${name}:1.0` }] },
        },
        strategy: {
          blueGreen: { activeService: name, previewService: `${name}-preview`, autoPromotionEnabled: false },
        },
      },
    });
  }
  const component = (name: string) =>
    `workload: { kind: Rollout, name: ${name} }
    container: app
    strategy: { type: blueGreen, activeService: ${name}, previewService: ${name}-preview }`;
  const dir = mkdtempSync(join(tmpdir(), "rollway-bench-"));
  const file = join(dir, "bench.bench.yaml");
  writeFileSync(
    file,
    `apiVersion: rollway.dev/v1alpha1
kind: Environment
name: bench
namespace: ${ns}
host: bench.example.com
previewHost: preview.bench.example.com
promotion: { mode: manual, readyTimeoutSeconds: 300 }
frontend:
  ${component("frontend").replace(/\n {4}/g, "\n  ")}
backends:
${names
  .slice(1)
  .map((n) => `  ${n}:\n    ${component(n)}`)
  .join("\n")}
`,
  );
  return { sim, file };
}

if (process.env.BENCH_KUBECONFIG) {
  const file = process.env.BENCH_ENVIRONMENT as string;
  const tokens = { deploy: "bench-deploy-token-0123456789abcdef", approve: "bench-approve-token-0123456789abcd" };
  const server = await startServer(
    ServerConfigSchema.parse({
      host: "127.0.0.1",
      port: 0,
      logLevel: "warn",
      rateLimitPerMinute: 1_000_000,
      tokens: [
        { scope: "deploy", project: "bench", environment: "bench", tokens: [tokens.deploy] },
        { scope: "approve", project: "bench", environment: "bench", tokens: [tokens.approve] },
      ],
      environments: [{ project: "bench", environment: "bench", file }],
    }),
    { kubeconfig: { file: process.env.BENCH_KUBECONFIG }, cancelReleasesOnShutdown: true },
  );
  process.stdout.write(`${JSON.stringify({ url: server.url, tokens })}\n`);
  process.once("SIGTERM", async () => {
    await server.shutdown();
    process.exit(0);
  });
}
