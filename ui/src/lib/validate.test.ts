import { describe, expect, it } from "vitest";
import { passphraseProblem, throttle } from "./validate";

describe("passphrase checks", () => {
  it("requires 8 characters and a matching confirmation", () => {
    expect(passphraseProblem("short", "short")).toBe("too_short");
    expect(passphraseProblem("long enough", "long enoug")).toBe("mismatch");
    expect(passphraseProblem("long enough", "long enough")).toBeNull();
    // Characters, not bytes: 8 accented letters are enough.
    expect(passphraseProblem("éééééééé", "éééééééé")).toBeNull();
  });
});

describe("throttle", () => {
  it("calls at most once per window", () => {
    let t = 0;
    let calls = 0;
    const f = throttle(() => calls++, 1000, () => t);
    f();
    f();
    t = 999;
    f();
    t = 1000;
    f();
    expect(calls).toBe(2);
  });
});
