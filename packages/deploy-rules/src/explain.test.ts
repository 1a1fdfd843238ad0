import { describe, expect, it } from "vitest";
import { explain } from "./explain.js";
import { resolveDeployRules } from "./resolve.js";

describe("explain", () => {
  it("prints every backend, its image and the rule that chose it, then the warnings", () => {
    const resolution = resolveDeployRules({
      images: ["r/api:2", "r/web:2"],
      rules: [
        { source: "^r/api:", target: "^api$" },
        { source: "^r/web:", target: "^web$" },
      ],
      backends: [
        { name: "api", currentImage: "r/api:1" },
        { name: "cron", currentImage: "r/cron:5" },
      ],
    });
    expect(explain(resolution)).toBe(
      [
        "BACKEND  IMAGE               CHOSEN BY",
        "api      r/api:1 -> r/api:2  rule 0: /^r/api:/ -> /^api$/",
        "cron     r/cron:5            no rule targets it: unchanged",
        "warning: backends.deployRules[1].target: /^web$/ matches no backend",
        'warning: backends.images[1]: "r/web:2" is deployed to no backend',
        "",
      ].join("\n"),
    );
  });
});
