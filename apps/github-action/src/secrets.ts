/**
 * What the Action must keep out of logs: the secret values inside a kubeconfig (masked one by one, so that words
 * such as `apiVersion: v1` stay readable in every later line of the job), and the userinfo of a URL.
 */
import { parseDocument } from "yaml";

/** Keys whose values authenticate someone (kubeconfig `users[].user`, auth-provider config, exec env values). */
const SECRET_KEY = /^(token|password|client-key-data|id-token|refresh-token|access-token|client-secret|secret)$/i;

/**
 * The secret values of a kubeconfig, each once. A kubeconfig that is not YAML is masked whole (line by line would
 * star out common words; whole is the safe side when nothing can be told apart).
 */
export function kubeconfigSecrets(text: string): string[] {
  const found = new Set<string>();
  let value: unknown;
  try {
    const doc = parseDocument(text, { uniqueKeys: false });
    if (doc.errors.length > 0) return [text.trim()].filter(Boolean);
    value = doc.toJS();
  } catch {
    return [text.trim()].filter(Boolean);
  }
  const visit = (node: unknown, key: string | undefined): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, key);
      // exec credential plugins: env: [{name: AWS_SECRET..., value: ...}] and args such as --token=...
      return;
    }
    if (node && typeof node === "object") {
      const record = node as Record<string, unknown>;
      const envName = typeof record.name === "string" ? record.name : undefined;
      for (const [k, v] of Object.entries(record)) {
        if (k === "value" && envName && /token|secret|password|key/i.test(envName) && typeof v === "string") {
          if (v) found.add(v);
          continue;
        }
        visit(v, k);
      }
      return;
    }
    if (typeof node === "string" && node && key && SECRET_KEY.test(key)) found.add(node);
    // `--token=...` in exec args
    if (typeof node === "string" && key === "args") {
      const m = /^--?(?:token|password|client-secret)=(.+)$/i.exec(node);
      if (m?.[1]) found.add(m[1]);
    }
  };
  visit(value, undefined);
  return [...found];
}

/** The URL without its user name and password (`https://***@host/`), for any message that names it. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (!url.username && !url.password) return text;
    url.username = "***";
    url.password = "";
    return url.toString();
  } catch {
    // Not a URL: still hide whatever stands before an `@` after a scheme.
    return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1***@");
  }
}
