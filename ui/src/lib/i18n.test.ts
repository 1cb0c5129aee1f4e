import { describe, expect, it } from "vitest";
import { actionLabel, actorLabel, detectLang, errorKey, format, linkErrorKey, localized, messages, serviceErrorText, translate } from "./i18n";

describe("i18n", () => {
  it("has the same keys in Dutch and English, none empty", () => {
    const en = Object.keys(messages.en).sort();
    const nl = Object.keys(messages.nl).sort();
    expect(nl).toEqual(en);
    for (const l of ["en", "nl"] as const) {
      for (const [k, v] of Object.entries(messages[l])) expect(v.trim(), `${l}:${k}`).not.toBe("");
    }
  });

  it("follows the OS language unless the user chose one", () => {
    expect(detectLang(null, ["nl-NL", "en-US"])).toBe("nl");
    expect(detectLang(null, ["de-DE", "en-GB"])).toBe("en");
    expect(detectLang(null, ["fr-FR"])).toBe("en");
    expect(detectLang("nl", ["en-US"])).toBe("nl");
    expect(detectLang("xx", ["nl"])).toBe("nl");
  });

  it("fills placeholders and keeps unknown ones visible", () => {
    expect(format("at {time}", { time: "10:00" })).toBe("at 10:00");
    expect(format("at {time}")).toBe("at {time}");
    expect(translate("nl", "incoming.received", { time: "09:15" })).toBe("Ontvangen om 09:15");
  });

  it("maps every deep-link error code from Rust to its own message", () => {
    for (const code of [
      "too_long",
      "not_a_url",
      "wrong_scheme",
      "unknown_action",
      "missing_parameter",
      "duplicate_parameter",
      "invalid_parameter",
    ]) {
      expect(linkErrorKey(code)).toBe(`link.error.${code}`);
    }
    expect(linkErrorKey("something_new")).toBe("link.error.invalid_parameter");
  });

  it("translates vault error codes and activity labels", () => {
    expect(errorKey("wrong_passphrase")).toBe("common.error.wrong_passphrase");
    expect(errorKey("database")).toBe("common.error.other");
    expect(actionLabel("nl", "vault.create")).toBe("Wallet aangemaakt");
    expect(actionLabel("en", "credential.import")).toBe("Credential imported");
    expect(actionLabel("en", "future.thing")).toBe("future.thing");
    expect(actorLabel("en", "admin")).toBe("Administrator");
    expect(actorLabel("nl", "employee:e-17")).toBe("e-17");
  });
});

describe("localized", () => {
  it("picks the UI language, else the other one", () => {
    expect(localized({ nl: "Dossier inzien", en: "View the record" }, "nl")).toBe("Dossier inzien");
    expect(localized({ nl: "Dossier inzien", en: "View the record" }, "en")).toBe("View the record");
    expect(localized({ nl: null, en: "View the record" }, "nl")).toBe("View the record");
    expect(localized(null, "en")).toBeNull();
  });
});

describe("serviceErrorText", () => {
  it("says what a service-token error means, in the UI's language", () => {
    expect(serviceErrorText("nl", "consent_declined")).toBe("afgewezen door de medewerker");
    expect(serviceErrorText("en", "consent_declined")).toBe("declined by the employee");
    expect(serviceErrorText("en", "something_new")).toBe("something_new");
  });
});
