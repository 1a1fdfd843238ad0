/** The kubeconfig that points kubectl and client libraries at a simulator. */
import jsYaml from "js-yaml";

export const KUBECONFIG_CONTEXT = "kube-sim";

export function renderKubeconfig(url: string, caCert: string | undefined, namespace = "default"): string {
  const cluster: Record<string, string> = { server: url };
  if (caCert) cluster["certificate-authority-data"] = Buffer.from(caCert).toString("base64");
  return jsYaml.dump(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: KUBECONFIG_CONTEXT, cluster }],
      users: [{ name: KUBECONFIG_CONTEXT, user: { token: "kube-sim" } }],
      contexts: [
        { name: KUBECONFIG_CONTEXT, context: { cluster: KUBECONFIG_CONTEXT, user: KUBECONFIG_CONTEXT, namespace } },
      ],
      "current-context": KUBECONFIG_CONTEXT,
      preferences: {},
    },
    { lineWidth: -1 },
  );
}
