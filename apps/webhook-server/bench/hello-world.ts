/** The baseline: a bare Hono hello-world on the same Node adapter, for the load benchmark. */
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const app = new Hono();
app.post("/", (c) => c.json({ message: "hello" }));
app.get("/", (c) => c.json({ message: "hello" }));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: "127.0.0.1" });
