/**
 * A second baseline for the load benchmark: the same framework and the same payload schema, nothing else (no
 * authentication, rate limit, request ids, metrics or logs). What validation itself costs, beside hello-world.
 */
import { serve } from "@hono/node-server";
import { parseDeployPayload } from "@rollway/payload-schema";
import { Hono } from "hono";

const app = new Hono();
app.post("/", async (c) => c.json({ message: "valid", payload: parseDeployPayload(await c.req.text()) }));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: "127.0.0.1" });
