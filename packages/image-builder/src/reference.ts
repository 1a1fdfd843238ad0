/** Image repository names (`registry.example.com:5000/team/app-frontend`) checked against Docker's grammar. */

const DOCKER_HUB = "docker.io";
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;

export interface Repository {
  /** Registry host (and port) the repository lives in; `docker.io` when the name has none. */
  registry: string;
  /** The repository as written, which is also what the engine tags and pushes. */
  name: string;
}

/** Returns the parsed repository, or why it is not one. */
export function parseRepository(name: string): Repository | string {
  if (name === "") return "is empty";
  if (name.includes("@")) return `${JSON.stringify(name)} has a digest; give the repository without tag or digest`;
  const parts = name.split("/");
  const first = parts[0] as string;
  const hasDomain = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  if (hasDomain && !DOMAIN.test(first)) return `${JSON.stringify(first)} is not a valid registry host`;
  const path = hasDomain ? parts.slice(1) : parts;
  const last = path[path.length - 1] as string;
  if (!hasDomain && last.includes(":")) {
    return `${JSON.stringify(name)} has a tag; give the repository without one (tags are computed)`;
  }
  if (hasDomain && last.includes(":")) {
    return `${JSON.stringify(name)} has a tag; give the repository without one (tags are computed)`;
  }
  const bad = path.find((c) => !PATH_COMPONENT.test(c));
  if (bad !== undefined) {
    return `${JSON.stringify(bad)} in ${JSON.stringify(name)} is not a valid repository path component (lowercase letters and digits, separated by ".", "_", "__" or "-")`;
  }
  if (name.length > 255) return `${JSON.stringify(name.slice(0, 30))}… is longer than 255 characters`;
  return { registry: hasDomain ? first : DOCKER_HUB, name };
}
