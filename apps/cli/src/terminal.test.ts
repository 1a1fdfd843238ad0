/**
 * The live progress block in a real terminal (tmux) at 80 and 200 columns: `rollway deploy` redraws one row per
 * component in place; a row longer than the window must not wrap, or moving the cursor up would leave copies behind.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detachedSimForFile } from "./test-helpers/detached-sim.js";
import { bin } from "./test-helpers/run-cli.js";

const { dir, env } = detachedSimForFile("tty", ["--ready-delay", "300"]);

const tmux = (...args: string[]) => spawnSync("tmux", args, { encoding: "utf8" });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ROW = /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] (frontend|backend-\d) /;

describe.each([80, 200])("rollway deploy at a %i-column terminal", (columns) => {
  it("keeps one row per component, each within the width", async () => {
    const payload = join(dir, `payload-${columns}.json`);
    writeFileSync(
      payload,
      JSON.stringify({
        backends: {
          images: [`my-registry/image-for-other-backends:wide-${columns}-a-long-tag-that-makes-rows-long`],
          deployRules: [{ source: ".*", target: ".*" }],
        },
        noDowntime: { promotionMode: "auto" },
      }),
    );
    const session = `rollway-tty-${process.pid}-${columns}`;
    const done = join(dir, `done-${columns}`);
    // CI=true would turn the live block off: this is a person's terminal.
    const command = `env -u CI NO_COLOR=1 KUBECONFIG='${env.KUBECONFIG}' ROLLWAY_ENV='${env.ROLLWAY_ENV}' ${process.execPath} ${bin} deploy ${payload}; echo "exit=$?" > ${done}; sleep 600`;
    expect(tmux("new-session", "-d", "-s", session, "-x", String(columns), "-y", "60", command).status).toBe(0);
    try {
      let finished = "";
      for (let i = 0; i < 600 && !finished; i++) {
        await sleep(250);
        finished = spawnSync("cat", [done], { encoding: "utf8" }).stdout;
      }
      const screen = tmux("capture-pane", "-p", "-t", session, "-S", "-5000").stdout.split("\n");
      // On a failed deploy the terminal says why: shown with the failure.
      expect(finished, screen.join("\n")).toBe("exit=0\n");
      const rows = screen.filter((l) => ROW.test(l));
      const names = rows.map((l) => (ROW.exec(l) as RegExpExecArray)[1]);
      expect(names.sort()).toEqual(["backend-1", "backend-2", "backend-3", "backend-4", "backend-5", "frontend"]);
      for (const line of screen) expect(line.length).toBeLessThanOrEqual(columns);
      if (columns === 80) expect(rows.some((l) => l.endsWith("…"))).toBe(true);
      else expect(rows.filter((l) => l.includes("wide-200-a-long-tag-that-makes-rows-long"))).toHaveLength(5);
    } finally {
      tmux("kill-session", "-t", session);
    }
  }, 240_000);
});
