// Guards the IPC boundary: only src/ipc may import the Tauri API (and so call invoke).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(__dirname, "..");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe("IPC boundary", () => {
  it("only src/ipc imports @tauri-apps/api or calls invoke", () => {
    const offenders = files(SRC)
      .filter((f) => /\.(ts|svelte)$/.test(f) && !f.endsWith(".test.ts"))
      .filter((f) => !relative(SRC, f).startsWith("ipc"))
      .filter((f) => {
        const text = readFileSync(f, "utf8");
        return text.includes("@tauri-apps/api") || /\binvoke\s*[<(]/.test(text);
      })
      .map((f) => relative(SRC, f));
    expect(offenders).toEqual([]);
  });
});
