export { type AppOptions, type AppState, createApp, ROUTES } from "./app.js";
export { Authenticator, type AuthResult, type Scope, type SigningSecret, type TokenGrant } from "./auth.js";
export {
  ConfigError,
  ENV_VARS,
  type EnvironmentSource,
  loadConfig,
  type ServerConfig,
  ServerConfigSchema,
} from "./config.js";
export { openApiDocument } from "./openapi.js";
export { type RunningServer, type StartOptions, startServer } from "./server.js";
export {
  DEMO_ENVIRONMENT_YAML,
  DEMO_NAMESPACE,
  type DemoCluster,
  type SimServer,
  startDemoCluster,
  startSimServer,
} from "./sim.js";
