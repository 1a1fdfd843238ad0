/**
 * The registry of built-in controllers that `startKubeSim()` runs unless told otherwise.
 * To add a controller: write it with `defineController` in its own file here and list it below.
 */
import { analysisRunController } from "./analysisrun.js";
import { daemonSetController } from "./daemonset.js";
import { deploymentController } from "./deployment.js";
import { endpointsController } from "./endpoints.js";
import { experimentController } from "./experiment.js";
import { flaggerController } from "./flagger.js";
import { jobController } from "./job.js";
import { podController } from "./pod.js";
import { replicaSetController } from "./replicaset.js";
import { rolloutController } from "./rollout.js";
import type { Controller } from "./runtime.js";

export const builtInControllers: Controller[] = [
  podController,
  replicaSetController,
  deploymentController,
  daemonSetController,
  jobController,
  endpointsController,
  rolloutController,
  analysisRunController,
  experimentController,
  flaggerController,
];
