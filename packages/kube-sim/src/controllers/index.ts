/**
 * The registry of built-in controllers that `startKubeSim()` runs unless told otherwise.
 * To add a controller: write it with `defineController` in its own file here and list it below.
 */
import type { Controller } from "./runtime.js";

export const builtInControllers: Controller[] = [];
