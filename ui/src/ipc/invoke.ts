// The one place that calls Tauri's invoke and listen. Command and event names come only from
// the generated client (commands.gen.ts), which is generated from the Rust IPC contract.
import { invoke } from "@tauri-apps/api/core";
import { listen as listenTauri, type UnlistenFn } from "@tauri-apps/api/event";
import type { ErrorCode } from "./bindings/ErrorCode";
import type { IpcError } from "./bindings/IpcError";
import type { CommandName, EventName } from "./commands.gen";

/** Turns whatever a command rejected with into an IpcError (Rust always sends one). */
export function asIpcError(e: unknown): IpcError {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const o = e as { code: unknown; message: unknown };
    // Rust sends an ErrorCode (see ui/src/ipc/bindings/ErrorCode.ts).
    return { code: String(o.code) as ErrorCode, message: String(o.message) };
  }
  return { code: "internal", message: String(e) };
}

/** Calls a command; a rejection is always an IpcError. */
export async function call<T>(cmd: CommandName, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asIpcError(e);
  }
}

/** Calls `handler` with the payload of every `event`. */
export function listen<T>(event: EventName, handler: (payload: T) => void): Promise<UnlistenFn> {
  return listenTauri<T>(event, (e) => handler(e.payload));
}
