/**
 * The components of a validated environment, in the order plans, events and rollbacks use. Apart from
 * `environment.ts` (the schema, zod and yaml) so a reader of an environment already validated, such as
 * `readEnvironmentStatus` under `rollway status`, loads neither.
 */
import type { Component, Environment } from "./environment.js";

export interface NamedComponent {
  /** `frontend` or the backend's name: the service name of its oConfig and the target of deploy rules. */
  name: string;
  role: "frontend" | "backend";
  component: Component;
}

/** The frontend (if any) then the backends in file order: the order plans, events and rollbacks use. */
export function listComponents(env: Pick<Environment, "frontend" | "backends">): NamedComponent[] {
  return [
    ...(env.frontend ? [{ name: "frontend", role: "frontend" as const, component: env.frontend }] : []),
    ...Object.entries(env.backends).map(([name, component]) => ({ name, role: "backend" as const, component })),
  ];
}
