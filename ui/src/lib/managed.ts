// Whether this wallet is a managed workstation (the organization's profile decides its
// organization, credentials, roster and policy): screens load it once and disable the edits
// the profile does not leave to this computer.
import { profileStatus } from "../ipc/client";
import type { LocalAreaView } from "../ipc/bindings/LocalAreaView";
import type { ProfileView } from "../ipc/bindings/ProfileView";

/** The profile in force, or null on a wallet that is not managed (or when it cannot be read). */
export async function loadProfile(): Promise<ProfileView | null> {
  return profileStatus().catch(() => null);
}

/** The profile as a screen holds it: `undefined` until loaded (everything stays locked meanwhile,
 *  so a managed workstation never shows usable controls for a moment), `null` when not managed. */
export type Managed = ProfileView | null | undefined;

/** Whether `area` may be changed here: always on a wallet that is not managed; on a managed
 *  workstation only when its organization's profile allows it. */
export function mayChange(profile: Managed, area: LocalAreaView): boolean {
  return profile === null || (profile !== undefined && profile.allowed.includes(area));
}

/** Whether a roster entry may be edited here: on a managed workstation only one added on this
 *  computer, while the profile allows such entries. */
export function mayEditEmployee(profile: Managed, identifier: string): boolean {
  return mayChange(profile, "localEmployees") && (profile === null || profile!.localEmployees.includes(identifier));
}
