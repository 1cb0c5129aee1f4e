import { describe, expect, it } from "vitest";
import type { ProfileView } from "../ipc/bindings/ProfileView";
import { mayChange, mayEditEmployee } from "./managed";

const profile = (over: Partial<ProfileView>): ProfileView => ({
  organization: "zorg",
  orgDid: "did:web:zorg.example",
  version: 2,
  issuedAt: "2026-12-01T00:00:00Z",
  expiresAt: "2026-12-31T00:00:00Z",
  expired: false,
  source: "/srv/share/p.jwe",
  lastRefresh: null,
  lastError: null,
  lastErrorCode: null,
  allowed: [],
  changedHere: [],
  localEmployees: [],
  ...over,
});

describe("managed mode", () => {
  it("leaves everything to a wallet that is not managed", () => {
    expect(mayChange(null, "accessPolicy")).toBe(true);
    expect(mayEditEmployee(null, "anyone")).toBe(true);
  });

  it("keeps everything locked until it knows whether the wallet is managed", () => {
    expect(mayChange(undefined, "accessPolicy")).toBe(false);
    expect(mayEditEmployee(undefined, "anyone")).toBe(false);
  });

  it("opens only what the profile allows", () => {
    const p = profile({ allowed: ["accessPolicy"] });
    expect(mayChange(p, "accessPolicy")).toBe(true);
    expect(mayChange(p, "trustedIssuers")).toBe(false);
    expect(mayChange(profile({}), "accessPolicy")).toBe(false);
  });

  it("lets a workstation edit only its own employees, while allowed", () => {
    const p = profile({ allowed: ["localEmployees"], localEmployees: ["locum-1"] });
    expect(mayEditEmployee(p, "locum-1")).toBe(true);
    expect(mayEditEmployee(p, "org-1")).toBe(false);
    expect(mayEditEmployee(profile({ localEmployees: ["locum-1"] }), "locum-1")).toBe(false);
  });
});
