export { didYouMean } from "./did-you-mean.js";
export { formatProblem, PayloadError, type PayloadErrorCode, type PayloadProblem } from "./errors.js";
export { EXAMPLE_PAYLOAD_TEXT } from "./examples.js";
export { type ImageReference, parseImageReference } from "./image-reference.js";
export { deployPayloadJsonSchema } from "./json-schema.js";
export {
  formatPath,
  MAX_PAYLOAD_BYTES,
  MAX_PAYLOAD_DEPTH,
  parseDeployPayload,
  parseDeployPayloadAsync,
  parseDeployPayloadMaybeAsync,
} from "./parse.js";
export {
  BackendsSchema,
  CodeAsDataSchema,
  type DeployPayload,
  type DeployPayloadInput,
  DeployPayloadSchema,
  type DeployRule,
  DeployRuleSchema,
  FrontendSchema,
  ImageReferenceSchema,
  KNOWN_EXTRA_ARGS,
  NoDowntimeSchema,
} from "./schema.js";
