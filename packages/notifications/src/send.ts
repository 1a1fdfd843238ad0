/**
 * One attempt to deliver one message to one destination: the body each receiver expects, and whether a failure is
 * worth retrying (429, 5xx, a network error or a timeout: yes; any other answer: no) and when (Retry-After).
 */
import { createHmac } from "node:crypto";
import nodemailer from "nodemailer";
import type { Destination, Template } from "./config.js";
import type { Secrets } from "./secrets.js";

export const SIGNATURE_HEADER = "X-Rollway-Signature-256";
export const DELIVERY_HEADER = "X-Rollway-Delivery";
export const EVENT_HEADER = "X-Rollway-Event";

export type Attempt = { ok: true } | { ok: false; retry: boolean; retryAfterMs?: number; reason: string };

export interface Message extends Template {
  /** The notification event and its variables (the generic webhook sends them as they are). */
  event: string;
  variables: Record<string, string>;
  /** Stable across replicas and retries: receivers may deduplicate on it. */
  deliveryId: string;
}

/** Slack's mrkdwn needs &, < and > escaped (they delimit links and mentions). */
const slackText = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function bodyFor(destination: Destination, message: Message): unknown {
  switch (destination.type) {
    case "slack":
      return {
        text: slackText(`${message.title}\n${message.body}`),
        blocks: [
          { type: "header", text: { type: "plain_text", text: message.title.slice(0, 150) } },
          { type: "section", text: { type: "mrkdwn", text: slackText(message.body) } },
        ],
      };
    case "teams":
      // A Teams workflow ("Post to a channel when a webhook request is received") takes an Adaptive Card message.
      return {
        type: "message",
        attachments: [
          {
            contentType: "application/vnd.microsoft.card.adaptive",
            content: {
              $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
              type: "AdaptiveCard",
              version: "1.4",
              body: [
                { type: "TextBlock", text: message.title, weight: "Bolder", size: "Medium", wrap: true },
                { type: "TextBlock", text: message.body, wrap: true },
              ],
            },
          },
        ],
      };
    case "webhook":
      return {
        event: message.event,
        deliveryId: message.deliveryId,
        title: message.title,
        text: message.body,
        ...message.variables,
      };
    case "email":
      return undefined;
  }
}

export async function attempt(
  destination: Destination,
  message: Message,
  secrets: Secrets,
  where: string,
  signal: AbortSignal,
): Promise<Attempt> {
  if (destination.type === "email") return sendEmail(destination, message, secrets, where, signal);
  const url = await secrets.read(destination.url, `${where}.url`);
  const body = JSON.stringify(bodyFor(destination, message));
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "User-Agent": "rollway-notifications",
    [DELIVERY_HEADER]: message.deliveryId,
    [EVENT_HEADER]: message.event,
  };
  if (destination.type === "webhook") {
    const key = await secrets.read(destination.signingKey, `${where}.signingKey`);
    headers[SIGNATURE_HEADER] = `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;
  }
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers, body, signal, redirect: "error" });
  } catch (error) {
    // The URL is a secret: the reason names the failure only.
    const reason = signal.aborted
      ? "timed out"
      : `network error (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name})`;
    return { ok: false, retry: true, reason };
  }
  await res.body?.cancel().catch(() => undefined);
  if (res.ok) return { ok: true };
  const retry = res.status === 429 || res.status >= 500;
  const retryAfterMs = retryAfter(res.headers.get("Retry-After"));
  return {
    ok: false,
    retry,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    reason: `HTTP ${res.status}`,
  };
}

/** Retry-After in seconds or as an HTTP date. */
export function retryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d{1,9}$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

async function sendEmail(
  destination: Extract<Destination, { type: "email" }>,
  message: Message,
  secrets: Secrets,
  where: string,
  signal: AbortSignal,
): Promise<Attempt> {
  const { smtp } = destination;
  const password = smtp.password ? await secrets.read(smtp.password, `${where}.smtp.password`) : undefined;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    ...(smtp.user && password ? { auth: { user: smtp.user, pass: password } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 10_000,
  });
  const abort = () => transport.close();
  signal.addEventListener("abort", abort, { once: true });
  try {
    await transport.sendMail({
      from: destination.from,
      to: destination.to,
      subject: message.title,
      text: message.body,
      messageId: `<${message.deliveryId}@rollway>`,
      headers: { [DELIVERY_HEADER]: message.deliveryId, [EVENT_HEADER]: message.event },
    });
    return { ok: true };
  } catch (error) {
    if (signal.aborted) return { ok: false, retry: true, reason: "timed out" };
    const code = (error as { responseCode?: number }).responseCode;
    // SMTP: 4xx is transient, 5xx permanent; no answer at all (connection refused, dropped) is retried.
    if (code !== undefined) return { ok: false, retry: code < 500, reason: `SMTP ${code}` };
    return { ok: false, retry: true, reason: `SMTP ${(error as { code?: string }).code ?? "error"}` };
  } finally {
    signal.removeEventListener("abort", abort);
    transport.close();
  }
}
