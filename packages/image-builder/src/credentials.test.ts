import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { tempDir } from "../test/temp-dir.js";
import { resolveRegistryAuth } from "./credentials.js";
import { ImageBuildError } from "./errors.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function configDir(config: unknown): Promise<string> {
  const dir = await tempDir();
  await writeFile(join(dir, "config.json"), typeof config === "string" ? config : JSON.stringify(config));
  return dir;
}

async function rejection(promise: Promise<unknown>): Promise<ImageBuildError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageBuildError);
  return error as ImageBuildError;
}

describe("resolveRegistryAuth", () => {
  it("reads the seed's kaniko-style auths entry for Docker Hub from DOCKER_CONFIG", async () => {
    const dir = await configDir({
      auths: { "https://index.docker.io/v1/": { username: "ci", password: "p@ss:word" } },
    });
    expect(await resolveRegistryAuth("docker.io", { env: { DOCKER_CONFIG: dir } })).toEqual({
      serveraddress: "docker.io",
      username: "ci",
      password: "p@ss:word",
    });
  });

  it("decodes docker login's base64 auth and matches keys written with a scheme or path", async () => {
    const dir = await configDir({ auths: { "http://registry.example.com:5000/v2/": { auth: b64("bot:to:ken") } } });
    expect(await resolveRegistryAuth("registry.example.com:5000", { dockerConfigDir: dir })).toEqual({
      serveraddress: "registry.example.com:5000",
      username: "bot",
      password: "to:ken",
    });
  });

  it("reads ~/.docker/config.json from HOME when DOCKER_CONFIG is not set", async () => {
    const home = await tempDir();
    await mkdir(join(home, ".docker"));
    await writeFile(
      join(home, ".docker", "config.json"),
      JSON.stringify({ auths: { "ghcr.io": { identitytoken: "tok" } } }),
    );
    expect(await resolveRegistryAuth("ghcr.io", { env: { HOME: home } })).toEqual({
      serveraddress: "ghcr.io",
      identitytoken: "tok",
    });
  });

  it("prefers explicit credentials over the config file", async () => {
    const dir = await configDir({ auths: { "ghcr.io": { auth: b64("file:secret") } } });
    const auth = await resolveRegistryAuth("ghcr.io", {
      dockerConfigDir: dir,
      credentials: { "ghcr.io": { username: "arg", password: "argsecret" } },
    });
    expect(auth).toEqual({ serveraddress: "ghcr.io", username: "arg", password: "argsecret" });
  });

  it("pushes anonymously when there is no config file or no entry for the registry", async () => {
    const empty = await tempDir();
    expect(await resolveRegistryAuth("ghcr.io", { dockerConfigDir: empty })).toBeUndefined();
    const other = await configDir({ auths: { "quay.io": { auth: b64("a:b") } } });
    expect(await resolveRegistryAuth("ghcr.io", { dockerConfigDir: other })).toBeUndefined();
  });

  it("asks the credential helper named in credHelpers, over stdin, as docker does", async () => {
    const bin = await tempDir();
    const helper = join(bin, "docker-credential-test");
    await writeFile(
      helper,
      `#!/bin/sh\nread server\n[ "$1" = get ] && [ "$server" = "ghcr.io" ] && echo '{"ServerURL":"ghcr.io","Username":"helper-user","Secret":"helper-secret"}' && exit 0\necho "credentials not found in native keychain"; exit 1\n`,
    );
    await chmod(helper, 0o755);
    const dir = await configDir({ credHelpers: { "ghcr.io": "test" }, auths: { "ghcr.io": { auth: b64("x:y") } } });
    const env = { PATH: `${bin}:${process.env.PATH}`, DOCKER_CONFIG: dir };
    expect(await resolveRegistryAuth("ghcr.io", { env })).toEqual({
      serveraddress: "ghcr.io",
      username: "helper-user",
      password: "helper-secret",
    });
    // The store has nothing for quay.io: no credentials, no error.
    const store = await configDir({ credsStore: "test" });
    expect(await resolveRegistryAuth("quay.io", { env: { ...env, DOCKER_CONFIG: store } })).toBeUndefined();
  });

  it("says which helper is missing", async () => {
    const dir = await configDir({ credsStore: "nonexistent-rollway" });
    const error = await rejection(
      resolveRegistryAuth("ghcr.io", { dockerConfigDir: dir, env: { PATH: "/nonexistent" } }),
    );
    expect(error.code).toBe("CREDENTIAL_HELPER_FAILED");
    expect(error.message).toContain("docker-credential-nonexistent-rollway is not on PATH");
  });

  it("names the broken config file without quoting its secrets", async () => {
    const dir = await configDir('{"auths": {"ghcr.io": {"auth": "c2VjcmV0LXRva2Vu"}},}');
    const error = await rejection(resolveRegistryAuth("ghcr.io", { dockerConfigDir: dir }));
    expect(error.code).toBe("DOCKER_CONFIG_INVALID");
    expect(error.message).toBe(`${join(dir, "config.json")}: is not valid JSON; fix it or run docker login again`);
    expect(inspect(error)).not.toContain("c2VjcmV0LXRva2Vu");
  });

  it("refuses an auth that is not username:password, without showing it", async () => {
    const dir = await configDir({ auths: { "ghcr.io": { auth: b64("justatoken") } } });
    const error = await rejection(resolveRegistryAuth("ghcr.io", { dockerConfigDir: dir }));
    expect(error.message).toContain('auths entry for ghcr.io has an "auth" that is not base64 of "username:password"');
    expect(inspect(error)).not.toContain("justatoken");
  });
});
