/** The Action's inputs, checked: each problem names the input and the fix. */
import { readFileSync } from "node:fs";
import { getInput } from "./runner.js";

export class InputError extends Error {
  override readonly name = "InputError";
}

export interface Inputs {
  mode: "webhook" | "direct";
  serverUrl: string;
  token: string;
  project: string;
  environment: string;
  /** The payload's JSON text, as the user wrote it (so parse errors point into it). */
  payloadText: string;
  promotionMode: "auto" | "manual" | undefined;
  kubeconfig: string;
  wait: boolean;
  timeoutSeconds: number;
}

function payloadFrom(env: NodeJS.ProcessEnv): string {
  const payload = getInput("payload", env);
  const images = getInput("images", env);
  if (payload && (images || getInput("frontend-image", env) || getInput("code-as-data-image", env))) {
    throw new InputError("give either payload or images/frontend-image/code-as-data-image, not both");
  }
  if (payload) {
    if (payload.startsWith("{")) return payload;
    try {
      return readFileSync(payload, "utf8");
    } catch (error) {
      throw new InputError(
        `payload: cannot read the file ${JSON.stringify(payload)} (${(error as NodeJS.ErrnoException).code}); give a path in the workspace or the JSON itself`,
        { cause: error },
      );
    }
  }
  const body: Record<string, unknown> = {};
  if (images) {
    const rulesText = getInput("rules", env);
    let rules: unknown;
    try {
      rules = rulesText ? JSON.parse(rulesText) : [{ source: ".*", target: ".*" }];
    } catch (error) {
      throw new InputError(`rules: not JSON (${(error as Error).message}); e.g. [{"source": ".*", "target": ".*"}]`);
    }
    body.backends = {
      images: images
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean),
      deployRules: rules,
    };
  }
  const frontend = getInput("frontend-image", env);
  if (frontend) body.frontend = { image: frontend };
  const codeAsData = getInput("code-as-data-image", env);
  if (codeAsData) body.codeAsData = { image: codeAsData };
  if (Object.keys(body).length === 0) {
    throw new InputError(
      "nothing to deploy: give payload, or images (with rules), frontend-image or code-as-data-image",
    );
  }
  return JSON.stringify(body, null, 2);
}

export function readInputs(env: NodeJS.ProcessEnv = process.env): Inputs {
  const mode = getInput("mode", env) || "webhook";
  if (mode !== "webhook" && mode !== "direct")
    throw new InputError(`mode: "${mode}" is unknown; use webhook or direct`);
  const environment = getInput("environment", env);
  if (!environment) {
    throw new InputError(
      mode === "direct"
        ? "environment: give the environment file (direct mode)"
        : "environment: give the environment name of the server",
    );
  }
  const promotionMode = getInput("promotion-mode", env);
  if (promotionMode && promotionMode !== "auto" && promotionMode !== "manual") {
    throw new InputError(`promotion-mode: "${promotionMode}" is unknown; use auto or manual`);
  }
  const timeoutText = getInput("timeout", env) || "1800";
  const timeoutSeconds = Number(timeoutText);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new InputError(`timeout: "${timeoutText}" is not a positive number of seconds`);
  }
  const inputs: Inputs = {
    mode,
    serverUrl: getInput("server-url", env).replace(/\/+$/, ""),
    token: getInput("token", env),
    project: getInput("project", env) || "default",
    environment,
    payloadText: payloadFrom(env),
    promotionMode: (promotionMode || undefined) as Inputs["promotionMode"],
    kubeconfig: getInput("kubeconfig", env),
    wait: (getInput("wait", env) || "true") !== "false",
    timeoutSeconds,
  };
  if (mode === "webhook" && (!inputs.serverUrl || !inputs.token)) {
    throw new InputError("webhook mode needs server-url and token (a token with the deploy scope, from a secret)");
  }
  if (mode === "direct" && !inputs.kubeconfig && !env.KUBECONFIG) {
    throw new InputError("direct mode needs kubeconfig (from a secret) or KUBECONFIG set by an earlier step");
  }
  return inputs;
}
