/** Clock time (HH:MM:SS) in the given language, for "received at". */
export function clockTime(ms: number, lang: string): string {
  return new Date(ms).toLocaleTimeString(lang === "nl" ? "nl-NL" : "en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}
