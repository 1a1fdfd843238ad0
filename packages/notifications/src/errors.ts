/** One error class for the package, with a `code` callers branch on (never the message). */
export type NotificationErrorCode = "INVALID_CONFIG" | "SECRET" | "DELIVERY";

export class NotificationError extends Error {
  override readonly name = "NotificationError";
  readonly code: NotificationErrorCode;
  /** Where: a config path (`destinations.ops.secret`), a destination name. */
  readonly where: string | undefined;

  constructor(code: NotificationErrorCode, message: string, options: { where?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.where = options.where;
  }
}
