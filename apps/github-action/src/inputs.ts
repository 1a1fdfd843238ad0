/** The Action's inputs, checked: each problem names the input and the fix, and never echoes a secret. */
import { readFileSync } from "node:fs";
import { redactUrl } from "./secrets.js";

export class InputError extends Error {
  override readonly name = "InputError";
  readonly code = "BAD_INPUT";
  /** The input at fault, as action.yml names it. */
  readonly input: string;
  constructor(input: string, message: string, options?: { cause?: unknown }) {
    super(`${input}: ${message}`, options);
    this.input = input;
  }
}

/** `deploy` releases a payload; `promote` and `abort` decide a release that an earlier job started. */
export const MODES = ["webhook", "direct", "promote", "abort"] as const;
export type Mode = (typeof MODES)[number];
/**
 * How long a step waits. `promoted`: until the release ends, or until it needs a decision (waiting for approval:
 * nothing moves until a person decides, so the step returns with `status: waiting-for-approval`); `preview`: until
 * the previews are ready; `none`: returns once the server accepted the release.
 */
export const WAITS = ["promoted", "preview", "none"] as const;
export type Wait = (typeof WAITS)[number];

export interface Inputs {
  mode: Mode;
  serverUrl: string;
  token: string;
  project: string;
  environment: string;
  /** The payload's JSON text, as the user wrote it (so parse errors point into it); empty for promote/abort. */
  payloadText: string;
  /** The payload's file, when it came from one (annotations point into it). */
  payloadFile: string | undefined;
  /** promote/abort: the release an earlier step started (its `release-id` output). */
  releaseId: string;
  promotionMode: "auto" | "manual" | undefined;
  kubeconfig: string;
  wait: Wait;
  timeoutSeconds: number;
}

/** Reads one input by its action.yml name (the toolkit's `core.getInput`, or a table in tests). */
export type GetInput = (name: string) => string;

function payloadFrom(get: GetInput): { text: string; file: string | undefined } {
  const payload = get("payload");
  const images = get("images");
  if (payload && (images || get("frontend-image") || get("code-as-data-image"))) {
    throw new InputError("payload", "give either payload or images/frontend-image/code-as-data-image, not both");
  }
  if (payload) {
    if (payload.startsWith("{")) return { text: payload, file: undefined };
    try {
      return { text: readFileSync(payload, "utf8"), file: payload };
    } catch (error) {
      throw new InputError(
        "payload",
        `cannot read the file ${JSON.stringify(payload)} (${(error as NodeJS.ErrnoException).code}); give a path in the workspace or the JSON itself`,
        { cause: error },
      );
    }
  }
  const body: Record<string, unknown> = {};
  if (images) {
    const rulesText = get("rules");
    let rules: unknown;
    try {
      rules = rulesText ? JSON.parse(rulesText) : [{ source: ".*", target: ".*" }];
    } catch (error) {
      throw new InputError("rules", `not JSON (${(error as Error).message}); e.g. [{"source": ".*", "target": ".*"}]`);
    }
    body.backends = {
      images: images
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean),
      deployRules: rules,
    };
  }
  const frontend = get("frontend-image");
  if (frontend) body.frontend = { image: frontend };
  const codeAsData = get("code-as-data-image");
  if (codeAsData) body.codeAsData = { image: codeAsData };
  if (Object.keys(body).length === 0) {
    throw new InputError(
      "payload",
      "nothing to deploy: give payload, or images (with rules), frontend-image or code-as-data-image",
    );
  }
  return { text: JSON.stringify(body, null, 2), file: undefined };
}

function waitFrom(get: GetInput): Wait {
  const text = get("wait") || "promoted";
  // `true`/`false` were this input's values before `preview` existed.
  if (text === "true") return "promoted";
  if (text === "false") return "none";
  if (!(WAITS as readonly string[]).includes(text))
    throw new InputError("wait", `"${text}" is unknown; use ${WAITS.join(", ")}`);
  return text as Wait;
}

/** The server's URL, refused when it carries a user name or password (the token goes in `token`). */
function serverUrlFrom(get: GetInput, needed: boolean): string {
  const text = get("server-url").replace(/\/+$/, "");
  if (!text) {
    if (needed) throw new InputError("server-url", "give the rollway server's URL, e.g. https://rollway.example.com");
    return "";
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InputError("server-url", `"${redactUrl(text)}" is not a URL; e.g. https://rollway.example.com`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new InputError("server-url", `"${redactUrl(text)}" is not http(s); e.g. https://rollway.example.com`);
  if (url.username || url.password)
    throw new InputError(
      "server-url",
      `"${redactUrl(text)}" carries credentials; give the URL without them and the token in the token input (from a secret)`,
    );
  return text;
}

export function readInputs(get: GetInput): Inputs {
  const mode = get("mode") || "webhook";
  if (!(MODES as readonly string[]).includes(mode))
    throw new InputError("mode", `"${mode}" is unknown; use ${MODES.join(", ")}`);
  const remote = mode !== "direct";
  const serverUrl = serverUrlFrom(get, remote);
  const environment = get("environment");
  if (!environment) {
    throw new InputError(
      "environment",
      mode === "direct" ? "give the environment file (direct mode)" : "give the environment name of the server",
    );
  }
  const promotionMode = get("promotion-mode");
  if (promotionMode && promotionMode !== "auto" && promotionMode !== "manual") {
    throw new InputError("promotion-mode", `"${promotionMode}" is unknown; use auto or manual`);
  }
  const timeoutText = get("timeout") || "1800";
  const timeoutSeconds = Number(timeoutText);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new InputError("timeout", `"${timeoutText}" is not a positive number of seconds`);
  }
  const wait = waitFrom(get);
  const token = get("token");
  if (remote && !token)
    throw new InputError(
      "token",
      mode === "webhook"
        ? "webhook mode needs a token with the deploy scope (from a secret)"
        : `${mode} needs a token with the approve scope (from a secret)`,
    );
  const decision = mode === "promote" || mode === "abort";
  const releaseId = get("release-id");
  if (decision && !releaseId)
    throw new InputError("release-id", `${mode} needs the release id, e.g. \${{ needs.release.outputs.release-id }}`);
  const payload = decision ? { text: "", file: undefined } : payloadFrom(get);
  const kubeconfig = get("kubeconfig");
  if (mode === "direct" && !kubeconfig && !process.env.KUBECONFIG) {
    throw new InputError(
      "kubeconfig",
      "direct mode needs kubeconfig (from a secret) or KUBECONFIG set by an earlier step",
    );
  }
  return {
    mode: mode as Mode,
    serverUrl,
    token,
    project: get("project") || "default",
    environment,
    payloadText: payload.text,
    payloadFile: payload.file,
    releaseId,
    promotionMode: (promotionMode || undefined) as Inputs["promotionMode"],
    kubeconfig,
    wait,
    timeoutSeconds,
  };
}
