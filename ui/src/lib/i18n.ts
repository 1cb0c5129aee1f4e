// One i18n mechanism for the whole UI: typed message keys, Dutch and English.
// The language follows the OS (navigator.language) and can be switched; the choice is remembered.
import { derived, writable } from "svelte/store";

export type Lang = "en" | "nl";

const en = {
  "app.title": "Nuts Wallet",
  "app.tagline": "Credentials of your care organization, presented only with your approval.",
  "app.devMode": "Development mode: test servers on this computer are trusted. Do not use with real patient data.",
  "app.language": "Language",
  "nav.home": "Home",
  "nav.about": "About",
  "home.waitingTitle": "Waiting for a request",
  "home.waitingBody":
    "When your healthcare application needs data from another organization, your browser opens this wallet. You will then see who asks for what, and you decide.",
  "home.ready": "Wallet is running",
  "incoming.title": "Incoming request",
  "incoming.received": "Received at {time}",
  "incoming.verifier": "Requested by",
  "incoming.requestUri": "Request location",
  "incoming.method": "Retrieval method",
  "incoming.notFetched":
    "The request has been checked for its form only. Its contents have not been retrieved yet.",
  "incoming.invalidTitle": "This link cannot be used",
  "incoming.invalidHelp":
    "Nothing was shared. Go back to your healthcare application and start again. If this keeps happening, contact your administrator.",
  "incoming.link": "Link as received",
  "incoming.earlier": "Earlier requests",
  "link.error.too_long": "The link is too long to be a valid request.",
  "link.error.not_a_url": "The link is not a valid web address.",
  "link.error.wrong_scheme": "The link is not meant for Nuts Wallet.",
  "link.error.unknown_action": "The link asks for something this wallet does not know.",
  "link.error.missing_parameter": "The link is incomplete: a required part is missing.",
  "link.error.duplicate_parameter": "The link is ambiguous: a part appears twice.",
  "link.error.invalid_parameter": "A part of the link is not valid.",
  "nav.activity": "Activity",
  "nav.lock": "Lock",
  "common.error.wrong_passphrase": "That passphrase is not correct.",
  "common.error.keyring_unavailable": "The computer's keyring cannot be reached. Use the passphrase instead, or ask your administrator.",
  "common.error.keyring_entry_missing": "This computer's keyring does not hold the key of this wallet. Unlock with the passphrase or restore a backup.",
  "common.error.locked": "The wallet is locked.",
  "common.error.not_initialized": "The wallet has not been set up yet.",
  "common.error.already_initialized": "A wallet already exists in this folder; it was left untouched.",
  "common.error.newer_schema": "This wallet was saved by a newer version of Nuts Wallet. Update the app; your data was left untouched.",
  "common.error.corrupt": "The wallet file cannot be read. It was left untouched; contact your administrator (a backup can be restored).",
  "common.error.invalid_input": "Please check what you entered.",
  "common.error.other": "Something went wrong.",
  "setup.title": "Set up Nuts Wallet",
  "setup.intro": "This wallet keeps your organization's keys and credentials encrypted on this computer. Choose how it is unlocked, and set an administrator passphrase.",
  "setup.protection": "How is the wallet unlocked?",
  "setup.keyring": "With this computer's keyring (recommended)",
  "setup.keyringHelp": "Unlocks without typing while you are signed in to this computer account.",
  "setup.keyringMissing": "Not available on this computer: no keyring service was found.",
  "setup.passphrase": "With a passphrase",
  "setup.passphraseHelp": "Type the passphrase each time the wallet is unlocked.",
  "setup.vaultPassphrase": "Wallet passphrase",
  "setup.vaultPassphraseConfirm": "Repeat wallet passphrase",
  "setup.admin": "Administrator passphrase",
  "setup.adminHelp": "Needed to set up the organization, manage credentials and employees, and make backups. Employees who can unlock the wallet cannot do these things without it.",
  "setup.adminConfirm": "Repeat administrator passphrase",
  "setup.create": "Create wallet",
  "setup.creating": "Creating… (this takes a moment)",
  "setup.tooShort": "Use at least {n} characters.",
  "setup.mismatch": "The two entries are not the same.",
  "unlock.title": "Wallet is locked",
  "unlock.body": "Unlock to see and approve requests.",
  "unlock.keyring": "Unlock",
  "unlock.passphrase": "Passphrase",
  "unlock.withPassphrase": "Unlock with passphrase",
  "unlock.orPassphrase": "Or unlock with the passphrase",
  "unlock.busy": "Unlocking…",
  "unlock.waiting": "A request is waiting. Unlock to continue.",
  "unlock.autoLock": "The wallet locks itself after {minutes} minutes without activity.",
  "activity.title": "Activity",
  "activity.intro": "Everything the wallet did, in a log that shows any later change.",
  "activity.search": "Search",
  "activity.outcome": "Outcome",
  "activity.category": "Kind",
  "activity.all": "All",
  "activity.empty": "No entries match.",
  "activity.when": "When",
  "activity.who": "Who",
  "activity.what": "What",
  "activity.subject": "About",
  "activity.result": "Result",
  "activity.verify": "Check log integrity",
  "activity.intact": "Log intact: {n} entries checked.",
  "activity.broken": "The log has been altered: {detail}",
  "outcome.success": "Done",
  "outcome.failure": "Failed",
  "outcome.declined": "Declined",
  "category.vault": "Wallet",
  "category.credential": "Credentials",
  "category.employee": "Employees",
  "category.presentation": "Presentations",
  "category.token": "Tokens",
  "actor.admin": "Administrator",
  "actor.system": "Wallet",
  "action.vault.create": "Wallet created",
  "action.vault.unlock": "Wallet unlocked",
  "action.vault.lock": "Wallet locked",
  "action.admin.session": "Administrator signed in",
  "nav.settings": "Settings",
  "admin.title": "Administrator",
  "admin.signedOut": "Administrator actions need the administrator passphrase.",
  "admin.passphrase": "Administrator passphrase",
  "admin.signIn": "Sign in as administrator",
  "admin.signOut": "Sign out",
  "admin.active": "Signed in as administrator ({minutes} min left).",
  "common.error.admin_required": "This needs the administrator. Sign in as administrator first.",
  "settings.title": "Settings",
  "settings.autoLock": "Lock after inactivity",
  "settings.autoLockHelp": "The wallet locks itself after this many minutes without activity.",
  "settings.minutes": "{n} minutes",
  "settings.oneMinute": "1 minute",
  "settings.save": "Save",
  "settings.saved": "Saved.",
  "about.commit": "Build",
  "nav.organization": "Organization",
  "nav.credentials": "Credentials",
  "nav.employees": "Employees",
  "org.title": "Organization",
  "org.none": "The organization has not been set up yet. An administrator creates its signing key and web identity (did:web) here.",
  "org.subject": "Subject (short name)",
  "org.subjectHelp": "One word, used in web addresses, e.g. \"zorg-noord\".",
  "org.baseUrl": "Public web address",
  "org.baseUrlHelp": "Where your web server will host the publication files, e.g. https://zorg-noord.nl",
  "org.didOptional": "DID (optional)",
  "org.create": "Set up organization",
  "org.did": "DID",
  "org.clientId": "Client ID",
  "org.kid": "Signing key",
  "org.thumbprint": "Key fingerprint",
  "org.didDocumentUrl": "DID document location",
  "org.published": "Published",
  "org.notPublished": "Not published since the last key change: publish and copy the files to the web server.",
  "org.publishTitle": "Publish",
  "org.publishHelp": "Writes the files other parties need to trust this wallet. Copy them to your web server as described in README.txt.",
  "org.outDir": "Output folder",
  "org.publish": "Write publication files",
  "org.publishedTo": "Written to {dir}",
  "cred.title": "Credentials",
  "cred.empty": "No credentials stored yet.",
  "cred.type": "Type",
  "cred.issuer": "Issuer",
  "cred.validity": "Valid",
  "cred.until": "until {date}",
  "cred.import": "Import a credential",
  "cred.importHelp": "Choose a file or paste a credential (JWT or JSON-LD). It is checked before it is stored.",
  "cred.paste": "Credential",
  "cred.importButton": "Check and import",
  "cred.imported": "Imported: {type}",
  "cred.details": "Details",
  "cred.claims": "Claims",
  "cred.revocation": "Revocation status",
  "cred.delete": "Delete",
  "cred.confirmDelete": "Delete this credential? This cannot be undone (except from a backup).",
  "cred.confirmYes": "Yes, delete",
  "cred.cancel": "Cancel",
  "cred.deleted": "Deleted.",
  "warn.expired": "Expired",
  "warn.expiring_soon": "Expires within 30 days",
  "warn.not_yet_valid": "Not yet valid",
  "warn.revoked": "Revoked",
  "warn.suspended": "Suspended",
  "warn.revocation_unknown": "Revocation status unknown (offline?)",
  "warn.untrusted_issuer": "Issuer not on the trusted list",
  "emp.title": "Employees",
  "emp.intro": "Employees on this roster get a short-lived employee credential, signed by the organization, when they approve a request.",
  "emp.empty": "No employees yet.",
  "emp.identifier": "Identifier",
  "emp.name": "Name",
  "emp.role": "Role",
  "emp.status": "Status",
  "emp.active": "Active",
  "emp.inactive": "Deactivated",
  "emp.add": "Add employee",
  "emp.deactivate": "Deactivate",
  "emp.reactivate": "Reactivate",
  "emp.edit": "Edit",
  "emp.save": "Save",
  "emp.validity": "Employee credential validity",
  "emp.validityHelp": "How long the employee credential issued for one approval stays valid.",
  "common.error.no_organization": "The organization has not been set up yet.",
  "common.error.organization_exists": "The organization is already set up.",
  "common.error.credential_refused": "The credential was refused.",
  "common.error.duplicate": "This is stored already.",
  "common.error.employee_inactive": "This employee is deactivated.",
  "about.title": "About Nuts Wallet",
  "about.version": "Version",
  "about.dataDir": "Data folder",
  "about.logDir": "Log files",
} as const;

export type MessageKey = keyof typeof en;

// Dutch must define every key that English defines (checked by the compiler and a test).
const nl: Record<MessageKey, string> = {
  "app.title": "Nuts Wallet",
  "app.tagline": "Gegevens van uw zorgorganisatie, alleen gedeeld met uw toestemming.",
  "app.devMode":
    "Ontwikkelmodus: testservers op deze computer worden vertrouwd. Niet gebruiken met echte patiëntgegevens.",
  "app.language": "Taal",
  "nav.home": "Start",
  "nav.about": "Over",
  "home.waitingTitle": "Wachten op een verzoek",
  "home.waitingBody":
    "Als uw zorgapplicatie gegevens nodig heeft van een andere organisatie, opent uw browser deze wallet. U ziet dan wie wat vraagt, en u beslist.",
  "home.ready": "Wallet is actief",
  "incoming.title": "Binnenkomend verzoek",
  "incoming.received": "Ontvangen om {time}",
  "incoming.verifier": "Aangevraagd door",
  "incoming.requestUri": "Locatie van het verzoek",
  "incoming.method": "Ophaalmethode",
  "incoming.notFetched":
    "Alleen de vorm van het verzoek is gecontroleerd. De inhoud is nog niet opgehaald.",
  "incoming.invalidTitle": "Deze link kan niet worden gebruikt",
  "incoming.invalidHelp":
    "Er is niets gedeeld. Ga terug naar uw zorgapplicatie en begin opnieuw. Gebeurt dit vaker, neem dan contact op met uw beheerder.",
  "incoming.link": "Link zoals ontvangen",
  "incoming.earlier": "Eerdere verzoeken",
  "link.error.too_long": "De link is te lang voor een geldig verzoek.",
  "link.error.not_a_url": "De link is geen geldig webadres.",
  "link.error.wrong_scheme": "De link is niet bedoeld voor Nuts Wallet.",
  "link.error.unknown_action": "De link vraagt iets wat deze wallet niet kent.",
  "link.error.missing_parameter": "De link is onvolledig: een verplicht onderdeel ontbreekt.",
  "link.error.duplicate_parameter": "De link is dubbelzinnig: een onderdeel komt twee keer voor.",
  "link.error.invalid_parameter": "Een onderdeel van de link is ongeldig.",
  "nav.activity": "Activiteit",
  "nav.lock": "Vergrendelen",
  "common.error.wrong_passphrase": "Dat wachtwoord klopt niet.",
  "common.error.keyring_unavailable": "De sleutelbos van deze computer is niet bereikbaar. Gebruik het wachtwoord, of vraag uw beheerder.",
  "common.error.keyring_entry_missing": "De sleutelbos van deze computer bevat de sleutel van deze wallet niet. Ontgrendel met het wachtwoord of zet een back-up terug.",
  "common.error.locked": "De wallet is vergrendeld.",
  "common.error.not_initialized": "De wallet is nog niet ingesteld.",
  "common.error.already_initialized": "In deze map staat al een wallet; die is niet aangeraakt.",
  "common.error.newer_schema": "Deze wallet is opgeslagen door een nieuwere versie van Nuts Wallet. Werk de app bij; uw gegevens zijn niet aangeraakt.",
  "common.error.corrupt": "Het walletbestand kan niet worden gelezen. Het is niet aangeraakt; neem contact op met uw beheerder (een back-up kan worden teruggezet).",
  "common.error.invalid_input": "Controleer wat u heeft ingevuld.",
  "common.error.other": "Er ging iets mis.",
  "setup.title": "Nuts Wallet instellen",
  "setup.intro": "Deze wallet bewaart de sleutels en verklaringen van uw organisatie versleuteld op deze computer. Kies hoe hij wordt ontgrendeld en stel een beheerderswachtwoord in.",
  "setup.protection": "Hoe wordt de wallet ontgrendeld?",
  "setup.keyring": "Met de sleutelbos van deze computer (aanbevolen)",
  "setup.keyringHelp": "Ontgrendelt zonder typen zolang u bent aangemeld op dit computeraccount.",
  "setup.keyringMissing": "Niet beschikbaar op deze computer: er is geen sleutelbosdienst gevonden.",
  "setup.passphrase": "Met een wachtwoord",
  "setup.passphraseHelp": "Typ het wachtwoord telkens als de wallet wordt ontgrendeld.",
  "setup.vaultPassphrase": "Walletwachtwoord",
  "setup.vaultPassphraseConfirm": "Herhaal walletwachtwoord",
  "setup.admin": "Beheerderswachtwoord",
  "setup.adminHelp": "Nodig om de organisatie in te stellen, verklaringen en medewerkers te beheren en back-ups te maken. Medewerkers die de wallet kunnen ontgrendelen, kunnen dit niet zonder dit wachtwoord.",
  "setup.adminConfirm": "Herhaal beheerderswachtwoord",
  "setup.create": "Wallet aanmaken",
  "setup.creating": "Bezig met aanmaken… (dit duurt even)",
  "setup.tooShort": "Gebruik minstens {n} tekens.",
  "setup.mismatch": "De twee invoeren zijn niet gelijk.",
  "unlock.title": "Wallet is vergrendeld",
  "unlock.body": "Ontgrendel om verzoeken te zien en goed te keuren.",
  "unlock.keyring": "Ontgrendelen",
  "unlock.passphrase": "Wachtwoord",
  "unlock.withPassphrase": "Ontgrendelen met wachtwoord",
  "unlock.orPassphrase": "Of ontgrendel met het wachtwoord",
  "unlock.busy": "Bezig met ontgrendelen…",
  "unlock.waiting": "Er wacht een verzoek. Ontgrendel om verder te gaan.",
  "unlock.autoLock": "De wallet vergrendelt zichzelf na {minutes} minuten zonder activiteit.",
  "activity.title": "Activiteit",
  "activity.intro": "Alles wat de wallet deed, in een logboek dat elke latere wijziging zichtbaar maakt.",
  "activity.search": "Zoeken",
  "activity.outcome": "Resultaat",
  "activity.category": "Soort",
  "activity.all": "Alles",
  "activity.empty": "Geen regels gevonden.",
  "activity.when": "Wanneer",
  "activity.who": "Wie",
  "activity.what": "Wat",
  "activity.subject": "Over",
  "activity.result": "Resultaat",
  "activity.verify": "Logboek controleren",
  "activity.intact": "Logboek intact: {n} regels gecontroleerd.",
  "activity.broken": "Het logboek is gewijzigd: {detail}",
  "outcome.success": "Gelukt",
  "outcome.failure": "Mislukt",
  "outcome.declined": "Geweigerd",
  "category.vault": "Wallet",
  "category.credential": "Verklaringen",
  "category.employee": "Medewerkers",
  "category.presentation": "Presentaties",
  "category.token": "Tokens",
  "actor.admin": "Beheerder",
  "actor.system": "Wallet",
  "action.vault.create": "Wallet aangemaakt",
  "action.vault.unlock": "Wallet ontgrendeld",
  "action.vault.lock": "Wallet vergrendeld",
  "action.admin.session": "Beheerder aangemeld",
  "nav.settings": "Instellingen",
  "admin.title": "Beheerder",
  "admin.signedOut": "Beheerdershandelingen vragen het beheerderswachtwoord.",
  "admin.passphrase": "Beheerderswachtwoord",
  "admin.signIn": "Aanmelden als beheerder",
  "admin.signOut": "Afmelden",
  "admin.active": "Aangemeld als beheerder (nog {minutes} min).",
  "common.error.admin_required": "Hiervoor is de beheerder nodig. Meld u eerst aan als beheerder.",
  "settings.title": "Instellingen",
  "settings.autoLock": "Vergrendelen na inactiviteit",
  "settings.autoLockHelp": "De wallet vergrendelt zichzelf na zoveel minuten zonder activiteit.",
  "settings.minutes": "{n} minuten",
  "settings.oneMinute": "1 minuut",
  "settings.save": "Opslaan",
  "settings.saved": "Opgeslagen.",
  "about.commit": "Build",
  "nav.organization": "Organisatie",
  "nav.credentials": "Verklaringen",
  "nav.employees": "Medewerkers",
  "org.title": "Organisatie",
  "org.none": "De organisatie is nog niet ingesteld. Een beheerder maakt hier de ondertekeningssleutel en de webidentiteit (did:web) aan.",
  "org.subject": "Subject (korte naam)",
  "org.subjectHelp": "Eén woord, gebruikt in webadressen, bijv. \"zorg-noord\".",
  "org.baseUrl": "Openbaar webadres",
  "org.baseUrlHelp": "Waar uw webserver de publicatiebestanden host, bijv. https://zorg-noord.nl",
  "org.didOptional": "DID (optioneel)",
  "org.create": "Organisatie instellen",
  "org.did": "DID",
  "org.clientId": "Client-ID",
  "org.kid": "Ondertekeningssleutel",
  "org.thumbprint": "Vingerafdruk sleutel",
  "org.didDocumentUrl": "Locatie DID-document",
  "org.published": "Gepubliceerd",
  "org.notPublished": "Niet gepubliceerd sinds de laatste sleutelwijziging: publiceer en kopieer de bestanden naar de webserver.",
  "org.publishTitle": "Publiceren",
  "org.publishHelp": "Schrijft de bestanden die andere partijen nodig hebben om deze wallet te vertrouwen. Kopieer ze naar uw webserver zoals README.txt beschrijft.",
  "org.outDir": "Uitvoermap",
  "org.publish": "Publicatiebestanden schrijven",
  "org.publishedTo": "Geschreven naar {dir}",
  "cred.title": "Verklaringen",
  "cred.empty": "Nog geen verklaringen opgeslagen.",
  "cred.type": "Soort",
  "cred.issuer": "Uitgever",
  "cred.validity": "Geldig",
  "cred.until": "tot {date}",
  "cred.import": "Verklaring importeren",
  "cred.importHelp": "Kies een bestand of plak een verklaring (JWT of JSON-LD). Die wordt gecontroleerd voordat hij wordt opgeslagen.",
  "cred.paste": "Verklaring",
  "cred.importButton": "Controleren en importeren",
  "cred.imported": "Geïmporteerd: {type}",
  "cred.details": "Details",
  "cred.claims": "Gegevens",
  "cred.revocation": "Intrekkingsstatus",
  "cred.delete": "Verwijderen",
  "cred.confirmDelete": "Deze verklaring verwijderen? Dit kan niet ongedaan worden gemaakt (behalve met een back-up).",
  "cred.confirmYes": "Ja, verwijderen",
  "cred.cancel": "Annuleren",
  "cred.deleted": "Verwijderd.",
  "warn.expired": "Verlopen",
  "warn.expiring_soon": "Verloopt binnen 30 dagen",
  "warn.not_yet_valid": "Nog niet geldig",
  "warn.revoked": "Ingetrokken",
  "warn.suspended": "Opgeschort",
  "warn.revocation_unknown": "Intrekkingsstatus onbekend (offline?)",
  "warn.untrusted_issuer": "Uitgever staat niet op de vertrouwde lijst",
  "emp.title": "Medewerkers",
  "emp.intro": "Medewerkers op deze lijst krijgen een kortlevende medewerkersverklaring, ondertekend door de organisatie, als zij een verzoek goedkeuren.",
  "emp.empty": "Nog geen medewerkers.",
  "emp.identifier": "Kenmerk",
  "emp.name": "Naam",
  "emp.role": "Rol",
  "emp.status": "Status",
  "emp.active": "Actief",
  "emp.inactive": "Gedeactiveerd",
  "emp.add": "Medewerker toevoegen",
  "emp.deactivate": "Deactiveren",
  "emp.reactivate": "Heractiveren",
  "emp.edit": "Wijzigen",
  "emp.save": "Opslaan",
  "emp.validity": "Geldigheid medewerkersverklaring",
  "emp.validityHelp": "Hoe lang de medewerkersverklaring die voor één goedkeuring wordt uitgegeven geldig blijft.",
  "common.error.no_organization": "De organisatie is nog niet ingesteld.",
  "common.error.organization_exists": "De organisatie is al ingesteld.",
  "common.error.credential_refused": "De verklaring is geweigerd.",
  "common.error.duplicate": "Dit is al opgeslagen.",
  "common.error.employee_inactive": "Deze medewerker is gedeactiveerd.",
  "about.title": "Over Nuts Wallet",
  "about.version": "Versie",
  "about.dataDir": "Gegevensmap",
  "about.logDir": "Logbestanden",
};

export const messages: Record<Lang, Record<MessageKey, string>> = { en, nl };

const STORAGE_KEY = "nuts-wallet.lang";

/** Picks the UI language from a saved choice, else the OS language list; Dutch or English. */
export function detectLang(saved: string | null, preferred: readonly string[]): Lang {
  if (saved === "en" || saved === "nl") return saved;
  for (const l of preferred) {
    const base = l.toLowerCase().split("-")[0];
    if (base === "nl") return "nl";
    if (base === "en") return "en";
  }
  return "en";
}

/** Fills `{name}` placeholders. Unknown placeholders stay visible so mistakes show. */
export function format(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}

/** Translates `key` into `lang`. */
export function translate(lang: Lang, key: MessageKey, params?: Record<string, string | number>): string {
  return format(messages[lang][key], params);
}

/** Message key for a deep-link error code; unknown codes fall back to the generic one. */
export function linkErrorKey(code: string): MessageKey {
  const key = `link.error.${code}`;
  return (key in en ? key : "link.error.invalid_parameter") as MessageKey;
}

/** Message key for an IPC error code; unknown codes get the generic message. */
export function errorKey(code: string): MessageKey {
  const key = `common.error.${code}`;
  return (key in en ? key : "common.error.other") as MessageKey;
}

/** Message key for a credential warning code. */
export function warningKey(code: string): MessageKey | null {
  const key = `warn.${code}`;
  return key in en ? (key as MessageKey) : null;
}

/** Friendly name of an activity action, or the action itself when unknown. */
export function actionLabel(lang: Lang, action: string): string {
  const key = `action.${action}`;
  return key in en ? translate(lang, key as MessageKey) : action;
}

/** Friendly name of an activity actor (`admin`, `system`, `employee:<id>`). */
export function actorLabel(lang: Lang, actor: string): string {
  if (actor === "admin") return translate(lang, "actor.admin");
  if (actor === "system") return translate(lang, "actor.system");
  return actor.startsWith("employee:") ? actor.slice("employee:".length) : actor;
}

function initialLang(): Lang {
  const saved = typeof localStorage === "undefined" ? null : localStorage.getItem(STORAGE_KEY);
  const prefs = typeof navigator === "undefined" ? [] : navigator.languages ?? [navigator.language];
  return detectLang(saved, prefs);
}

export const lang = writable<Lang>(initialLang());
lang.subscribe((l) => {
  if (typeof localStorage !== "undefined") localStorage.setItem(STORAGE_KEY, l);
  if (typeof document !== "undefined") document.documentElement.lang = l;
});

/** `$t("key", {param})` in components. */
export const t = derived(
  lang,
  (l) => (key: MessageKey, params?: Record<string, string | number>) => translate(l, key, params),
);
