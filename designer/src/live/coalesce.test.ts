import { describe, expect, it } from "vitest";
import { coalesce } from "./coalesce";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

describe("coalesce", () => {
  it("runs at most one at a time and one trailing run for any number of triggers", async () => {
    const runs: ReturnType<typeof deferred>[] = [];
    const c = coalesce(() => {
      const d = deferred();
      runs.push(d);
      return d.promise;
    });
    c.trigger();
    c.trigger();
    c.trigger();
    c.trigger();
    expect(runs.length).toBe(1);
    runs[0].resolve();
    await tick();
    expect(runs.length).toBe(2);
    runs[1].resolve();
    await tick();
    expect(runs.length).toBe(2);
  });
  it("keeps going after a failed run and stops after dispose", async () => {
    let n = 0;
    const c = coalesce(async () => {
      n++;
      throw new Error("x");
    });
    c.trigger();
    await tick();
    c.trigger();
    await tick();
    expect(n).toBe(2);
    c.dispose();
    c.trigger();
    await tick();
    expect(n).toBe(2);
  });
});
