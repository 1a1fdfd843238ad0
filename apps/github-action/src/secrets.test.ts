import { describe, expect, it } from "vitest";
import { kubeconfigSecrets, redactUrl } from "./secrets.js";

describe("kubeconfigSecrets", () => {
  it("finds tokens, keys, passwords and auth-provider and exec secrets, and nothing else", () => {
    const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://10.0.0.1", certificate-authority-data: Q0EtREFUQQ==}
users:
- name: a
  user: {token: tok-1, client-certificate-data: Q0VSVA==, client-key-data: S0VZ}
- name: b
  user: {username: admin, password: pw-2}
- name: c
  user:
    auth-provider:
      name: oidc
      config: {client-id: kubectl, client-secret: cs-3, id-token: it-4, refresh-token: rt-5}
- name: d
  user:
    exec:
      command: aws
      args: [eks, get-token, --token=arg-6]
      env: [{name: AWS_SECRET_ACCESS_KEY, value: env-7}, {name: AWS_REGION, value: eu-west-1}]
`;
    expect(kubeconfigSecrets(kubeconfig).sort()).toEqual(
      ["S0VZ", "arg-6", "cs-3", "env-7", "it-4", "pw-2", "rt-5", "tok-1"].sort(),
    );
  });

  it("masks a kubeconfig that is not YAML whole rather than line by line", () => {
    expect(kubeconfigSecrets("token: [unclosed\n  x")).toEqual(["token: [unclosed\n  x"]);
  });
});

describe("redactUrl", () => {
  it.each([
    ["https://user:pass@h.example/x", "https://***@h.example/x"],
    ["https://h.example/x", "https://h.example/x"],
    ["not a url user:pass@h", "not a url user:pass@h"],
    ["https://tok@[bad", "https://***@[bad"],
  ])("%s → %s", (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});
