// Fails when a translation key exists in one language and not in another.
import { readFileSync } from "node:fs";

const langs = ["en", "de", "fr"];
const flat = (o, p = "") =>
  Object.entries(o).flatMap(([k, v]) => (typeof v === "object" ? flat(v, `${p}${k}.`) : [`${p}${k}`]));
const keys = Object.fromEntries(
  langs.map((l) => [l, new Set(flat(JSON.parse(readFileSync(`src/i18n/${l}.json`, "utf8"))))]),
);
let missing = 0;
for (const a of langs)
  for (const b of langs)
    for (const k of keys[a]) if (!keys[b].has(k)) (missing++, console.error(`${b}: missing ${k}`));
process.exit(missing ? 1 : 0);
