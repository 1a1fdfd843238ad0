export { type ClaimState, Claims, claimName, LABEL_NOTIFICATION_OF } from "./claim.js";
export {
  type Destination,
  NOTIFICATION_EVENTS,
  NOTIFICATIONS_API_VERSION,
  NOTIFICATIONS_KIND,
  type NotificationEvent,
  type NotificationsConfig,
  NotificationsSchema,
  parseNotifications,
  type SecretRef,
  type Template,
} from "./config.js";
export { NotificationError, type NotificationErrorCode } from "./errors.js";
export {
  EVENT_PATHS,
  type KubeEventsOptions,
  KubeEventWriter,
  LABEL_EVENT_RELEASE,
  REPORTING_CONTROLLER,
  reasonOf,
  type WorkloadRef,
  workloadsOf,
} from "./kube-events.js";
export { Notifier, type NotifierLogger, type NotifierOptions, type Outcome, type OutcomeReport } from "./notifier.js";
export { DELIVERY_HEADER, EVENT_HEADER, retryAfter, SIGNATURE_HEADER } from "./send.js";
export { DEFAULT_TEMPLATES, type EventContext, render, type Triggered, trigger } from "./templates.js";
