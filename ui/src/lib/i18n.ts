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
