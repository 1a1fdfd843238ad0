import { bench, describe } from "vitest";
import { compileDeployRules, resolveDeployRules } from "../src/index.js";
import { largeRelease } from "./fixtures.js";

const input = largeRelease(1000);
// Patterns are compiled and safety-checked once (cached), as on a server that sees the same rules every deploy.
const compiled = compileDeployRules(input.rules);

describe("1,000 images x 1,000 rules x 1,000 backends", () => {
  bench("resolveDeployRules (patterns cached)", () => {
    resolveDeployRules(input);
  });

  // Baseline: the bare cost of testing every rule against every image and every backend once, which any
  // regex router must pay; resolveDeployRules' overhead is what it adds on top.
  bench("baseline: 2,000,000 bare RegExp.test calls", () => {
    let hits = 0;
    for (const rule of compiled) {
      for (const image of input.images) if (rule.sourceRe.test(image)) hits++;
      for (const backend of input.backends) if (rule.targetRe.test(backend)) hits++;
    }
    if (hits !== 2000) throw new Error(`unexpected ${hits}`);
  });
});
