/** Test helpers: one HTTP call to a simulator, and the first `count` events of a watch stream. */

export async function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": contentType },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary API objects
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as any };
}

export async function readEvents(url: string, path: string, count: number) {
  const controller = new AbortController();
  const res = await fetch(`${url}${path}`, { signal: controller.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary watch events
  const events: { type: string; object: any }[] = [];
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      events.push(JSON.parse(buffer.slice(0, nl)));
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
    }
  }
  controller.abort();
  return events;
}
