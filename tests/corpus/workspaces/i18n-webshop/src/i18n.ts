// Locale loading and plural selection for the storefront.
//
// Bundles are flat JSON objects of nested keys. ICU-style plurals
// ({count, plural, one {...} other {...}}) are resolved with
// Intl.PluralRules, which knows that Russian needs one/few/many/other and
// Arabic zero/one/two/few/many/other.

// notes: 0

export const SUPPORTED = ["en", "de", "fr", "ru", "uk", "zh-CN", "ja", "ar", "he", "fa", "th", "vi"] as const;
export type Lang = (typeof SUPPORTED)[number];

const RTL = new Set<Lang>(["ar", "he", "fa"]);

export function direction(lang: Lang): "rtl" | "ltr" {
  return RTL.has(lang) ? "rtl" : "ltr";
}

export async function loadBundle(lang: Lang): Promise<Record<string, unknown>> {
  const res = await fetch(`/locales/${lang}/common.json`);
  if (!res.ok) throw new Error(`missing bundle for ${lang}`);
  return res.json();
}

// Wraps text that comes from the user (names, addresses) in FIRST STRONG
// ISOLATE ... POP DIRECTIONAL ISOLATE so that a Latin name inside an Arabic
// sentence, or an Arabic name inside an English one, does not reorder the
// punctuation around it.
export function isolate(text: string): string {
  return "\u2068" + text + "\u2069";
}

export function plural(lang: Lang, count: number, forms: Record<string, string>): string {
  const rule = new Intl.PluralRules(lang).select(count);
  const form = forms[rule] ?? forms.other;
  return form.replace("#", new Intl.NumberFormat(lang).format(count));
}
