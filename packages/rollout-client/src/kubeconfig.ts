/**
 * Reading the kubeconfig: which server, which TLS settings and which credentials every request of a connection uses.
 *
 * A kubeconfig that only names what kubectl applies by itself (CA data or file, client certificate and key, token or
 * token-file, username/password, `as`, tls-server-name, insecure-skip-tls-verify) is read here, with the same rules
 * as @kubernetes/client-node's `KubeConfig` (`config_types.ts`, `applyOptions`). Everything that needs more goes to
 * client-node's `KubeConfig`, loaded only then: a user with an `exec` plugin or an `auth-provider` (OIDC, GCP,
 * Azure, token files), a cluster behind a `proxy-url`, several files in $KUBECONFIG, in-cluster service accounts.
 * client-node, with its auth libraries and proxy agents, was most of what a short command such as `rollway status`
 * loaded and compiled on every start.
 */
import { accessSync, readFileSync } from "node:fs";
import type http from "node:http";
import type https from "node:https";
import path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { RolloutClientError, redactSecrets } from "./errors.js";
import { readPlainYaml } from "./plain-yaml.js";

/** Where the cluster credentials come from. Without one, the default chain: `$KUBECONFIG`, `~/.kube/config`, in-cluster. */
export type KubeconfigSource =
  | { file: string }
  | { yaml: string }
  | { kubeConfig: KubeConfig }
  | { inCluster: true; pathPrefix?: string };

/** The TLS settings of the cluster and user, for one keep-alive agent. */
type TlsSettings = Pick<
  https.AgentOptions,
  "ca" | "cert" | "key" | "pfx" | "passphrase" | "servername" | "rejectUnauthorized"
>;

/** What a connection needs from the kubeconfig. */
export interface KubeconfigAccess {
  readonly context: string;
  /** The context's namespace, if it names one. */
  readonly namespace: string | undefined;
  /** The API server's URL, without a trailing slash. */
  readonly server: string;
  readonly tls: TlsSettings;
  /** `username:password` of a user with basic auth. */
  readonly basicAuth: string | undefined;
  /** How it was read: here, or by client-node's `KubeConfig` (auth plugins, proxies, in-cluster). */
  readonly readBy: "rollway" | "client-node";
  /** The credential headers of the user, fresh for each request (exec plugin and OIDC tokens expire). */
  headers(): Promise<Record<string, string>>;
  /** An agent through the cluster's `proxy-url` (client-node's agent factory: HTTP(S) or SOCKS); none without one. */
  proxyAgent(options: https.AgentOptions): http.Agent | undefined;
}

interface ReadKubeconfigOptions {
  kubeconfig?: KubeconfigSource;
  /** A context of the kubeconfig; default: its `current-context`. */
  context?: string;
}

// The parts of a kubeconfig file this module reads, as client-node's `config_types.ts` maps them.
interface ClusterEntry {
  name: string;
  server: string;
  caData?: string;
  caFile?: string;
  skipTLSVerify: boolean;
  tlsServerName?: string;
  proxyUrl?: string;
}
interface UserEntry {
  name: string;
  raw: Record<string, unknown>;
}
interface ContextEntry {
  name: string;
  cluster: string;
  user?: string;
  namespace?: string;
}
interface ParsedKubeconfig {
  clusters: ClusterEntry[];
  users: UserEntry[];
  contexts: ContextEntry[];
  currentContext: string | undefined;
}

/** Reads the kubeconfig and resolves its context: here when it can, through client-node when it must. */
export async function readKubeconfig(options: ReadKubeconfigOptions = {}): Promise<KubeconfigAccess> {
  const source = options.kubeconfig ?? defaultFile();
  if (!source || "kubeConfig" in source || "inCluster" in source) return throughClientNode(options);
  const fileName = "file" in source ? source.file : undefined;
  let text: string;
  let parsed: ParsedKubeconfig;
  try {
    text = "file" in source ? readFileSync(source.file, "utf8") : source.yaml;
    parsed = await parseKubeconfig(text, fileName ? path.dirname(fileName) : undefined);
  } catch (cause) {
    throw cannotLoad(cause, fileName);
  }
  const contextName = selectContext(
    parsed.contexts.map((c) => c.name),
    options.context,
    parsed.currentContext,
  );
  const context = parsed.contexts.find((c) => c.name === contextName);
  const cluster = parsed.clusters.find((c) => c.name === context?.cluster);
  if (!cluster) throw noCluster(contextName);
  const user = parsed.users.find((u) => u.name === context?.user)?.raw;
  // What client-node applies through its authenticators and agent factory stays with client-node.
  if (cluster.proxyUrl || user?.exec || user?.["auth-provider"])
    return throughClientNode({ ...options, kubeconfig: "file" in source ? source : { yaml: text } });

  const tls: TlsSettings = {};
  const headers: Record<string, string> = {};
  let basicAuth: string | undefined;
  // client-node applies no TLS setting and no credential to a context without a user; neither does this.
  if (user) {
    try {
      if (cluster.skipTLSVerify) tls.rejectUnauthorized = false;
      if (cluster.tlsServerName) tls.servername = cluster.tlsServerName;
      const ca = fileOrBase64(cluster.caFile, cluster.caData);
      if (ca) tls.ca = ca;
      const cert = fileOrBase64(stringOf(user["client-certificate"]), stringOf(user["client-certificate-data"]));
      if (cert) tls.cert = cert;
      const key = fileOrBase64(stringOf(user["client-key"]), stringOf(user["client-key-data"]));
      if (key) tls.key = key;
      if (user.as != null) headers["Impersonate-User"] = String(user.as);
      // A token file is read once, when the kubeconfig is (as client-node does), and relative to the working folder.
      const token = user.token
        ? String(user.token)
        : user["token-file"]
          ? readFileSync(String(user["token-file"]), "utf8")
          : undefined;
      if (token) headers.Authorization = `Bearer ${token}`;
      if (user.username) basicAuth = `${String(user.username)}:${user.password == null ? "" : String(user.password)}`;
    } catch (cause) {
      throw cannotLoad(cause, fileName);
    }
  }
  return {
    context: contextName,
    namespace: context?.namespace,
    server: cluster.server,
    tls,
    basicAuth,
    readBy: "rollway",
    headers: async () => ({ ...headers }),
    proxyAgent: () => undefined,
  };
}

/** The one file of the default chain this module reads itself: a single $KUBECONFIG file, else ~/.kube/config. */
function defaultFile(): { file: string } | undefined {
  const variable = process.env.KUBECONFIG;
  if (variable) {
    const files = variable.split(path.delimiter).filter((f) => f);
    // Several files are merged by client-node's rules.
    return files.length === 1 && files[0] ? { file: files[0] } : undefined;
  }
  const home = process.platform === "win32" ? undefined : process.env.HOME;
  if (!home) return undefined;
  const file = path.join(home, ".kube", "config");
  try {
    accessSync(file);
    return { file };
  } catch {
    // No ~/.kube/config: client-node's chain goes on to the in-cluster service account.
    return undefined;
  }
}

function stringOf(value: unknown): string | undefined {
  return value === undefined || value === null || value === "" ? undefined : String(value);
}

/** The clusters, users and contexts, checked and mapped as client-node's `newClusters`/`newUsers`/`newContexts`. */
async function parseKubeconfig(text: string, directory: string | undefined): Promise<ParsedKubeconfig> {
  // A plain kubeconfig (as kubectl, kind and rollway's sim write them) is read without loading `yaml`; anything else,
  // or a file with an error, is parsed by `yaml` as before.
  const doc = (readPlainYaml(text) ?? (await import("yaml")).parse(text) ?? {}) as Record<string, unknown>;
  const list = (value: unknown) => (Array.isArray(value) ? (value as Record<string, unknown>[]) : []);
  const absolute = (file: string | undefined) =>
    file && directory && !path.isAbsolute(file) ? path.join(directory, file) : file;
  const clusters = list(doc.clusters).map((elt, i): ClusterEntry => {
    if (!elt?.name) throw new Error(`clusters[${i}].name is missing`);
    const c = elt.cluster as Record<string, unknown> | undefined;
    if (!c) throw new Error(`clusters[${i}].cluster is missing`);
    if (!c.server) throw new Error(`clusters[${i}].cluster.server is missing`);
    return {
      name: String(elt.name),
      server: String(c.server).replace(/\/$/, ""),
      caData: stringOf(c["certificate-authority-data"]),
      caFile: absolute(stringOf(c["certificate-authority"])),
      skipTLSVerify: c["insecure-skip-tls-verify"] === true,
      tlsServerName: stringOf(c["tls-server-name"]),
      proxyUrl: stringOf(c["proxy-url"]),
    };
  });
  const users = list(doc.users).map((elt, i): UserEntry => {
    if (!elt?.name) throw new Error(`users[${i}].name is missing`);
    const raw = { ...((elt.user as Record<string, unknown> | undefined) ?? {}) };
    for (const key of ["client-certificate", "client-key"])
      if (typeof raw[key] === "string") raw[key] = absolute(raw[key] as string);
    return { name: String(elt.name), raw };
  });
  const contexts = list(doc.contexts).map((elt, i): ContextEntry => {
    if (!elt?.name) throw new Error(`contexts[${i}].name is missing`);
    const c = elt.context as Record<string, unknown> | undefined;
    if (!c) throw new Error(`contexts[${i}].context is missing`);
    if (!c.cluster) throw new Error(`contexts[${i}].context.cluster is missing`);
    return {
      name: String(elt.name),
      cluster: String(c.cluster),
      ...(c.user ? { user: String(c.user) } : {}),
      ...(c.namespace ? { namespace: String(c.namespace) } : {}),
    };
  });
  const current = doc["current-context"];
  return { clusters, users, contexts, currentContext: current ? String(current) : undefined };
}

function fileOrBase64(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  if (data) return Buffer.from(data, "base64");
  return undefined;
}

function cannotLoad(cause: unknown, file: string | undefined): RolloutClientError {
  return new RolloutClientError("INVALID", `cannot load the kubeconfig: ${redactSecrets(String(cause))}`, {
    resource: { kind: "kubeconfig", name: file },
    cause,
  });
}

/** The context asked for (which must exist), else the kubeconfig's current one. */
function selectContext(known: string[], asked: string | undefined, current: string | undefined): string {
  if (asked === undefined) return current ?? "";
  if (!known.includes(asked)) {
    throw new RolloutClientError(
      "INVALID",
      `the kubeconfig has no context "${asked}" (it has: ${known.join(", ") || "none"})`,
      { resource: { kind: "kubeconfig" } },
    );
  }
  return asked;
}

function noCluster(context: string | undefined): RolloutClientError {
  return new RolloutClientError(
    "INVALID",
    `the kubeconfig's current context "${context}" names no cluster; pass a context or fix the file`,
    { resource: { kind: "kubeconfig" } },
  );
}

/** client-node methods that are private in its types but are what `applyToHTTPSOptions` is made of. */
interface KubeConfigInternals {
  applyOptions?: (o: https.RequestOptions) => Promise<void>;
  createAgent?: (cluster: unknown, options: https.AgentOptions) => http.Agent;
}

/** Everything else, through client-node's `KubeConfig`, loaded now and not before. */
async function throughClientNode(options: ReadKubeconfigOptions): Promise<KubeconfigAccess> {
  const source = options.kubeconfig;
  let kc: KubeConfig;
  if (source && "kubeConfig" in source) {
    kc = source.kubeConfig;
  } else {
    const { KubeConfig } = await import("./client-node-config.js");
    kc = new KubeConfig();
    try {
      if (!source) kc.loadFromDefault();
      else if ("file" in source) kc.loadFromFile(source.file);
      else if ("yaml" in source) kc.loadFromString(source.yaml);
      else kc.loadFromCluster(source.pathPrefix);
    } catch (cause) {
      throw cannotLoad(cause, source && "file" in source ? source.file : undefined);
    }
  }
  const contextName = selectContext(
    kc.getContexts().map((c) => c.name),
    options.context,
    kc.getCurrentContext(),
  );
  kc.setCurrentContext(contextName);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw noCluster(contextName);
  const server = cluster.server.replace(/\/+$/, "");
  const secure = new URL(server).protocol === "https:";
  const inner = kc as unknown as KubeConfigInternals;

  // TLS material (CA data or file, client certificate and key, tls-server-name, insecure-skip-tls-verify), read once.
  const material: https.RequestOptions = {};
  if (secure) await kc.applyToHTTPSOptions(material);
  else {
    if (typeof inner.applyOptions !== "function") {
      throw new RolloutClientError("INVALID", "this @kubernetes/client-node cannot talk to a plain-HTTP API server", {
        resource: { kind: "kubeconfig" },
      });
    }
    await inner.applyOptions.call(kc, material);
  }
  (material.agent as http.Agent | undefined)?.destroy();
  const tls: TlsSettings = {
    ...(material.ca ? { ca: material.ca } : {}),
    ...(material.cert ? { cert: material.cert } : {}),
    ...(material.key ? { key: material.key } : {}),
    ...(material.pfx ? { pfx: material.pfx } : {}),
    ...(material.passphrase ? { passphrase: material.passphrase } : {}),
    ...(material.servername ? { servername: material.servername } : {}),
    ...(material.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: material.rejectUnauthorized }),
  };
  if (cluster.proxyUrl && typeof inner.createAgent !== "function") {
    throw new RolloutClientError("INVALID", "this @kubernetes/client-node cannot use the kubeconfig's proxy-url", {
      resource: { kind: "kubeconfig" },
    });
  }
  const user = kc.getCurrentUser();
  return {
    context: contextName,
    namespace: kc.getContextObject(contextName)?.namespace,
    server,
    tls,
    basicAuth: user?.username ? `${user.username}:${user.password ?? ""}` : undefined,
    readBy: "client-node",
    async headers() {
      const opts: https.RequestOptions = {};
      if (typeof inner.applyOptions === "function") await inner.applyOptions.call(kc, opts);
      else await kc.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(opts.headers ?? {})) {
        if (typeof value === "string" || typeof value === "number") headers[key] = String(value);
      }
      return headers;
    },
    proxyAgent: (agentOptions) => (cluster.proxyUrl ? inner.createAgent?.call(kc, cluster, agentOptions) : undefined),
  };
}
