/**
 * Dashboard benchmark: (1) the environment page of an environment with 50 components, first render after start and
 * then warm, server time from the server's own request-duration histogram sum; (2) the extra memory of the server
 * process holding 200 open live (SSE) pages of one running release. The server runs in its own process
 * (bench/dashboard-server.ts); its memory is read from its /metrics. Run: `node --import tsx bench/dashboard.ts`.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { seedBench } from "./dashboard-server.js";

const COMPONENTS = Number(process.env.BENCH_COMPONENTS ?? 50);
const CLIENTS = Number(process.env.BENCH_SSE_CLIENTS ?? 200);

const world = await seedBench(COMPONENTS);
const child = spawn(process.execPath, ["--import", "tsx", "bench/dashboard-server.ts"], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, BENCH_KUBECONFIG: world.sim.kubeconfigPath, BENCH_ENVIRONMENT: world.file },
});
const ready = await new Promise<{ url: string; tokens: { deploy: string; approve: string } }>((resolve, reject) => {
  createInterface({ input: child.stdout }).once("line", (line) => resolve(JSON.parse(line)));
  child.once("exit", (code) => reject(new Error(`server exited ${code}`)));
});
const { url, tokens } = ready;
const ENV = "/dashboard/projects/bench/environments/bench";

async function signIn(token: string): Promise<string> {
  const form = await fetch(`${url}/dashboard/sign-in`);
  const cookie = (form.headers.getSetCookie()[0] as string).split(";")[0] as string;
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] as string;
  const res = await fetch(`${url}/dashboard/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams({ csrf, token }),
  });
  return (res.headers.getSetCookie().find((c) => c.startsWith("rollway_session=")) as string).split(";")[0] as string;
}

/** Sum and count of the server's request durations for a route, from its histogram. */
async function serverSeconds(route: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const pick = (name: string) =>
    Number(
      new RegExp(
        `^rollway_http_request_duration_seconds_${name}\\{route="${route.replace(/[/:]/g, "\\$&")}"\\} (\\S+)$`,
        "m",
      ).exec(text)?.[1] ?? 0,
    );
  return { sum: pick("sum"), count: pick("count") };
}

async function memory(): Promise<{ rss: number; heap: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return { rss: value("process_resident_memory_bytes"), heap: value("nodejs_heap_size_used_bytes") };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const route = "/dashboard/projects/:project/environments/:environment";
try {
  const session = await signIn(tokens.approve);
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const before = await serverSeconds(route);
    const res = await fetch(`${url}${ENV}`, { headers: { cookie: session } });
    const html = await res.text();
    if (res.status !== 200 || !html.includes(`backend-${COMPONENTS - 1}`)) throw new Error(`page: ${res.status}`);
    const after = await serverSeconds(route);
    times.push((after.sum - before.sum) * 1000);
  }
  // Baseline in the same run: the JSON status route, which reads the same status (from the cache) and renders no HTML.
  const apiRoute = "/v1/projects/:project/environments/:environment/status";
  const apiTimes: number[] = [];
  for (let i = 0; i < 21; i++) {
    const before = await serverSeconds(apiRoute);
    const res = await fetch(`${url}/v1/projects/bench/environments/bench/status`, {
      headers: { Authorization: `Bearer ${tokens.deploy}` },
    });
    await res.text();
    apiTimes.push(((await serverSeconds(apiRoute)).sum - before.sum) * 1000);
  }
  const apiWarm = apiTimes.slice(1).sort((a, b) => a - b);
  console.log(
    `baseline GET {base}/status (JSON, the same status from the cache): first ${apiTimes[0]?.toFixed(1)} ms; warm median ${apiWarm[Math.floor(apiWarm.length / 2)]?.toFixed(1)} ms`,
  );
  // And the read every page made before the informer cache: `?fresh=1` is engine.status from the cluster.
  const freshTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const before = await serverSeconds(apiRoute);
    const res = await fetch(`${url}/v1/projects/bench/environments/bench/status?fresh=1`, {
      headers: { Authorization: `Bearer ${tokens.deploy}` },
    });
    await res.text();
    freshTimes.push(((await serverSeconds(apiRoute)).sum - before.sum) * 1000);
  }
  console.log(
    `baseline GET {base}/status?fresh=1 (engine.status from the cluster, the page's read before the cache): median of 5 ${freshTimes.sort((a, b) => a - b)[2]?.toFixed(1)} ms`,
  );
  const warm = times.slice(1).sort((a, b) => a - b);
  console.log(
    `environment page, ${COMPONENTS} components: first render ${times[0]?.toFixed(1)} ms server time; warm median ${warm[Math.floor(warm.length / 2)]?.toFixed(1)} ms, p95 ${warm[Math.floor(warm.length * 0.95)]?.toFixed(1)} ms`,
  );

  // A release that waits for approval: its live page stays open.
  const deploy = await fetch(`${url}/v1/projects/bench/environments/bench/deploy`, {
    method: "POST",
    headers: { Authorization: `Bearer ${tokens.deploy}`, "Content-Type": "application/json" },
    body: JSON.stringify({ frontend: { image: "registry/frontend:2.0" } }),
  });
  const { releaseId } = (await deploy.json()) as { releaseId: string };
  await new Promise((r) => setTimeout(r, 2000));
  const base = await memory();
  const stop = new AbortController();
  const opened: Promise<void>[] = [];
  let open = 0;
  for (let i = 0; i < CLIENTS; i++) {
    opened.push(
      (async () => {
        const res = await fetch(`${url}${ENV}/releases/${releaseId}/live`, {
          headers: { cookie: session, Accept: "text/event-stream" },
          signal: stop.signal,
        });
        if (res.status !== 200) throw new Error(`live: ${res.status}`);
        open++;
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        for (;;) if ((await reader.read()).done) return;
      })().catch((error: unknown) => {
        if (!stop.signal.aborted) throw error;
      }),
    );
  }
  while (open < CLIENTS) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 3000));
  const held = await memory();
  console.log(
    `${CLIENTS} open live pages: server RSS ${mb(base.rss)} → ${mb(held.rss)} (+${mb(held.rss - base.rss)}), JS heap ${mb(base.heap)} → ${mb(held.heap)} (+${mb(held.heap - base.heap)})`,
  );
  stop.abort();
  await Promise.allSettled(opened);
} finally {
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  await world.sim.close();
}
