// Whether this wallet is a managed workstation (the organization's profile decides its
// organization, credentials, roster and policy): screens load it once and disable their edits.
import { profileStatus } from "../ipc/client";
import type { ProfileView } from "../ipc/bindings/ProfileView";

/** The profile in force, or null on a wallet that is not managed (or when it cannot be read). */
export async function loadProfile(): Promise<ProfileView | null> {
  return profileStatus().catch(() => null);
}
