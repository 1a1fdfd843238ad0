export { registerFlaggerRoutes } from "./flagger.js";
export { type ReleaseRoutesDeps, registerReleaseRoutes } from "./releases.js";
