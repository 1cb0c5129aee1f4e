// Guards the IPC boundary: only src/ipc may import the Tauri API (and so call invoke), and no
// command or event is named by hand: names come from the generated client (commands.gen.ts).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(__dirname, "..");
const GENERATED = join("ipc", "commands.gen.ts");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const sources = files(SRC).filter((f) => /\.(ts|svelte)$/.test(f) && !f.endsWith(".test.ts"));

describe("IPC boundary", () => {
  it("only src/ipc imports @tauri-apps/api or calls invoke", () => {
    const offenders = sources
      .filter((f) => !relative(SRC, f).startsWith("ipc"))
      .filter((f) => {
        const text = readFileSync(f, "utf8");
        return text.includes("@tauri-apps/api") || /\binvoke\s*[<(]/.test(text);
      })
      .map((f) => relative(SRC, f));
    expect(offenders).toEqual([]);
  });

  it("names commands and events only in the generated client", () => {
    const literalName = /\b(invoke|call|listen|listenTauri)\s*(<[^>()]*>)?\s*\(\s*["'`]/;
    const offenders = sources
      .filter((f) => relative(SRC, f) !== GENERATED)
      .filter((f) => literalName.test(readFileSync(f, "utf8")))
      .map((f) => relative(SRC, f));
    expect(offenders).toEqual([]);
    // The pattern does find the names where they belong.
    expect(literalName.test(readFileSync(join(SRC, GENERATED), "utf8"))).toBe(true);
  });
});
