/** Imported first by the entrypoint, so that the tick objects' shape is kept before anything else runs (tick-shape.ts). */
import { keepTickObjectShape } from "./tick-shape.js";

keepTickObjectShape();
