// startKubeSim's own contract: options errors, CRD loading errors with file and position, disposal.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { KubeSimError } from "./errors.js";
import { startKubeSim } from "./sim.js";

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), "kube-sim-test-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

async function startError(options: Parameters<typeof startKubeSim>[0]): Promise<KubeSimError> {
  try {
    const sim = await startKubeSim(options);
    await sim.close();
  } catch (error) {
    expect(error).toBeInstanceOf(KubeSimError);
    return error as KubeSimError;
  }
  throw new Error("expected startKubeSim to fail");
}

describe("startKubeSim", () => {
  it("refuses a negative delay, naming the option", async () => {
    const e = await startError({ readyDelayMs: -1 });
    expect(e.code).toBe("INVALID_OPTIONS");
    expect(e.message).toBe("readyDelayMs must be a number of milliseconds >= 0, got -1");
  });

  it("reports a CRD file that is not valid YAML with its path, line and column", async () => {
    using tmp = tempDir();
    const file = join(tmp.dir, "broken.yaml");
    writeFileSync(file, "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec: [unclosed\n");
    const e = await startError({ crds: [file], controllers: [] });
    expect(e.code).toBe("CRD_LOAD_FAILED");
    expect(e.path).toBe(file);
    expect(e.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:4:1: invalid YAML: `));
  });

  it("reports a document that is not a CRD, and a folder that does not exist", async () => {
    using tmp = tempDir();
    const file = join(tmp.dir, "cm.yaml");
    writeFileSync(file, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
    expect((await startError({ crds: [file], controllers: [] })).message).toBe(
      `${file}: document 1 is a ConfigMap, expected a CustomResourceDefinition`,
    );
    const missing = join(tmp.dir, "nope");
    expect((await startError({ crds: [missing], controllers: [] })).message).toContain(
      `cannot read CRD source ${missing}`,
    );
  });

  it("says so when the port is taken", async () => {
    await using first = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const port = Number(new URL(first.url).port);
    const e = await startError({ port, controllers: [] });
    expect(e.code).toBe("START_FAILED");
    expect(e.message).toContain(`kube-sim could not listen on 127.0.0.1:${port}`);
  });

  it("removes its kubeconfig and stops answering on close, and close can be called twice", async () => {
    const sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    expect(existsSync(sim.kubeconfigPath)).toBe(true);
    expect(sim.kubeconfig).toContain(`server: ${sim.url}`);
    await sim.close();
    await sim.close();
    expect(existsSync(sim.kubeconfigPath)).toBe(false);
    await expect(fetch(`${sim.url}/version`)).rejects.toThrow();
  });

  it("loads no CRDs when given none, and serves only built-in kinds", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [], crds: [] });
    expect(sim.store.types.all().some((t) => t.custom)).toBe(false);
  });
});
