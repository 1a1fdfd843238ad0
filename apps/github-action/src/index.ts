/** The file the runner executes (`runs.main`, bundled to dist/index.js): it only runs the action. */
import { run } from "./main.js";

await run();
