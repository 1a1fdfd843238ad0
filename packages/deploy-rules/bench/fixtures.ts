/** A large, realistic release: N services, each with its own image, rule and backend. */
export function largeRelease(n: number) {
  const images = Array.from(
    { length: n },
    (_, i) => `registry.example.com/team/svc-${i}:main-${(0xabc0000 + i).toString(16)}`,
  );
  const rules = Array.from({ length: n }, (_, i) => ({
    source: `^registry\\.example\\.com/team/svc-${i}:main-[0-9a-f]{7}$`,
    target: `^svc-${i}(-[a-z]+)?$`,
  }));
  const backends = Array.from({ length: n }, (_, i) => `svc-${i}`);
  return { images, rules, backends };
}
