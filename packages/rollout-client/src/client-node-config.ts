/**
 * client-node's `KubeConfig` and nothing else of client-node, for `kubeconfig.ts` to import when a kubeconfig needs
 * it: a dynamic import of "@kubernetes/client-node" itself would make bundlers keep all of client-node (its generated
 * API clients included), as nothing tells them which names of the module are used.
 */
export { KubeConfig } from "@kubernetes/client-node";
