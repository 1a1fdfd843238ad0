export { type AppOptions, type AppState, createApp, ROUTES } from "./app.js";
export { Authenticator, type AuthResult, type Scope, type SigningSecret, type TokenGrant } from "./auth.js";
export { ConfigError, ENV_VARS, loadConfig, type ServerConfig, ServerConfigSchema } from "./config.js";
export { openApiDocument } from "./openapi.js";
export { type RunningServer, startServer } from "./server.js";
