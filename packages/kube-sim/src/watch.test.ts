// The informer contract (client-go's reflector): list, then watch from the list's resourceVersion, applying each
// event to the listed state, gives exactly what a fresh list gives, whatever the writes and the selector.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import type { KubeObject } from "./crds.js";
import { builtInTypes, type ResourceType, ResourceTypes } from "./resources.js";
import { Store } from "./store.js";
import { openWatch } from "./watch.js";

type Op = { kind: "create" | "label" | "delete"; name: string; env: string };

const op = fc.record({
  kind: fc.constantFrom("create" as const, "label" as const, "delete" as const),
  name: fc.constantFrom("a", "b", "c", "d"),
  env: fc.constantFrom("prod", "dev"),
});

function apply(store: Store, t: ResourceType, o: Op): void {
  const exists = store.peek(t, "default", o.name) !== undefined;
  if (o.kind === "create" && !exists) {
    store.create(t, "default", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: o.name, labels: { env: o.env } },
    });
  } else if (o.kind === "label" && exists) {
    store.patch(t, "default", o.name, "merge", { metadata: { labels: { env: o.env } } });
  } else if (o.kind === "delete" && exists) {
    store.delete(t, "default", o.name);
  }
}

function fresh() {
  const types = new ResourceTypes(builtInTypes());
  const store = new Store(types, { clock: new ManualClock(), historySize: 1_000 });
  store.create(types.get("", "namespaces") as ResourceType, undefined, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "default" },
  });
  return { store, t: types.get("", "configmaps") as ResourceType };
}

const snapshot = (objects: Iterable<KubeObject>) =>
  [...objects].map((o) => `${o.metadata.name}:${o.metadata.labels?.env}:${o.metadata.resourceVersion}`).sort();

describe("list + watch", () => {
  it("replays to the same state as a fresh list, with or without a label selector (property)", () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 25 }),
        fc.array(op, { maxLength: 25 }),
        fc.constantFrom("", "env=prod"),
        (before, after, labelSelector) => {
          const { store, t } = fresh();
          for (const o of before) apply(store, t, o);
          const listed = store.listRaw(t, "default", { labelSelector });
          const state = new Map(listed.items.map((o) => [o.metadata.name, o]));
          for (const o of after) apply(store, t, o);
          const watch = openWatch(
            store,
            t,
            { namespace: "default", labelSelector, resourceVersion: listed.resourceVersion },
            (e) => {
              if (e.type === "ERROR" || e.type === "BOOKMARK") throw new Error(`unexpected ${e.type}`);
              if (e.type === "DELETED") state.delete(e.object.metadata.name);
              else state.set(e.object.metadata.name, e.object);
            },
          );
          watch.close();
          expect(snapshot(state.values())).toEqual(snapshot(store.listRaw(t, "default", { labelSelector }).items));
        },
      ),
    );
  });
});
