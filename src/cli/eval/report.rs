//! The report: a table per attack × mode on the terminal, JSON for CI, and
//! a self-contained HTML page with the table and a bar chart per mode.

use super::catalogue::{self, Catalogue};
use super::tools::ToolInfo;
use super::{excerpt, BenignCell, Cell, Mode, ModeRun, Planned, Stopper};
use serde_json::{json, Value};
use std::time::Duration;

pub struct Report<'a> {
    server: &'a str,
    profile: &'a str,
    cat: &'a Catalogue,
    tools: &'a [ToolInfo],
    plan: &'a [Planned],
    runs: &'a [ModeRun],
    elapsed: Duration,
}

/// Counts of one mode's applicable attacks.
#[derive(Default)]
struct Totals {
    applicable: usize,
    effect: usize,
    inspector: usize,
    kernel: usize,
    server: usize,
    failed: usize,
}

impl Totals {
    fn json(&self) -> Value {
        json!({"attacks": self.applicable, "effect": self.effect, "stopped_by_inspector": self.inspector,
               "stopped_by_kernel": self.kernel, "no_effect_even_raw": self.server, "errors": self.failed})
    }
}

fn cell_text(c: &Cell) -> String {
    if c.effect {
        return "EFFECT".into();
    }
    match (c.status, c.stopped_by) {
        ("not_applicable", _) => "n/a".into(),
        ("not_started", _) => "not started".into(),
        ("error", _) => "error".into(),
        (_, Some(Stopper::Inspector)) => format!(
            "inspector {}",
            [c.layer.as_deref(), c.rule.as_deref()]
                .iter()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        ),
        (_, Some(Stopper::Kernel)) => "kernel".into(),
        (_, Some(Stopper::Server)) => "no effect (server)".into(),
        (s, None) => s.to_string(),
    }
}

impl<'a> Report<'a> {
    pub fn new(
        server: &'a str,
        profile: &'a str,
        cat: &'a Catalogue,
        tools: &'a [ToolInfo],
        plan: &'a [Planned],
        runs: &'a [ModeRun],
        elapsed: Duration,
    ) -> Report<'a> {
        Report {
            server,
            profile,
            cat,
            tools,
            plan,
            runs,
            elapsed,
        }
    }

    fn totals(&self, run: &ModeRun) -> Totals {
        let mut t = Totals::default();
        for (p, c) in self.plan.iter().zip(&run.cells) {
            if !p.applicable() {
                continue;
            }
            t.applicable += 1;
            if c.effect {
                t.effect += 1;
                continue;
            }
            match c.stopped_by {
                Some(Stopper::Inspector) => t.inspector += 1,
                Some(Stopper::Kernel) => t.kernel += 1,
                Some(Stopper::Server) => t.server += 1,
                None => t.failed += 1,
            }
        }
        t
    }

    /// Benign calls that work raw but fail in `mode`.
    fn false_positives(&self, mode: Mode) -> Vec<&str> {
        let raw = self.runs.iter().find(|r| r.mode == Mode::Raw);
        let this = self.runs.iter().find(|r| r.mode == mode);
        let (Some(raw), Some(this)) = (raw, this) else {
            return Vec::new();
        };
        self.tools
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                let ok = |r: &ModeRun| r.benign.get(*i).and_then(Option::as_ref).map(|b| b.ok);
                ok(raw) == Some(true) && ok(this) != Some(true)
            })
            .map(|(_, t)| t.name.as_str())
            .collect()
    }

    fn effects(&self, mode: Mode) -> usize {
        self.runs
            .iter()
            .find(|r| r.mode == mode)
            .map(|r| r.cells.iter().filter(|c| c.effect).count())
            .unwrap_or(0)
    }

    /// Attacks that took effect in kernel-only mode although the catalogue
    /// does not mark them as visible to the inspector only.
    fn kernel_only_unexpected(&self) -> Vec<&str> {
        self.runs
            .iter()
            .find(|r| r.mode == Mode::KernelOnly)
            .map(|r| {
                self.plan
                    .iter()
                    .zip(&r.cells)
                    .filter(|(p, c)| c.effect && !p.def.inspector_only)
                    .map(|(p, _)| p.def.id.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        let modes: Vec<Value> = self
            .runs
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("totals".into(), self.totals(r).json());
                }
                v
            })
            .collect();
        let attacks: Vec<Value> = self
            .plan
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut results = serde_json::Map::new();
                for r in self.runs {
                    if let Some(c) = r.cells.get(i) {
                        results.insert(r.mode.key().into(), serde_json::to_value(c).unwrap_or_default());
                    }
                }
                let tool = |t: &Option<(usize, String)>| {
                    t.as_ref().and_then(|(ti, arg)| {
                        self.tools.get(*ti).map(|t| json!({"tool": t.name, "argument": arg}))
                    })
                };
                json!({
                    "id": p.def.id, "class": p.def.class, "title": p.def.title,
                    "kind": p.def.kind.name(), "effect_check": p.def.effect.name(),
                    "inspector_only": p.def.inspector_only,
                    "applicable": p.applicable(), "target": tool(&p.main), "first_step": tool(&p.first),
                    "results": results,
                })
            })
            .collect();
        let benign: Vec<Value> = self
            .tools
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut results = serde_json::Map::new();
                for r in self.runs {
                    let v = match r.benign.get(i) {
                        Some(Some(b)) => serde_json::to_value(b).unwrap_or_default(),
                        Some(None) => json!({"ok": null, "detail": "no ordinary call generated"}),
                        None => Value::Null,
                    };
                    results.insert(r.mode.key().into(), v);
                }
                json!({"tool": t.name, "results": results,
                       "false_positive": self.false_positives(Mode::Guarded).contains(&t.name.as_str())})
            })
            .collect();
        let guarded_started = self
            .runs
            .iter()
            .any(|r| r.mode == Mode::Guarded && r.started);
        json!({
            "vanguard_eval": 1,
            "catalogue_version": self.cat.version,
            "server": self.server,
            "profile": self.profile,
            "seconds": self.elapsed.as_secs_f64(),
            "modes": modes,
            "tools": self.tools,
            "attacks": attacks,
            "benign": benign,
            "summary": {
                "raw_effects": self.effects(Mode::Raw),
                "guarded_effects": self.effects(Mode::Guarded),
                "kernel_only_effects": self.effects(Mode::KernelOnly),
                "kernel_only_unexpected": self.kernel_only_unexpected(),
                "false_positives": self.false_positives(Mode::Guarded),
                "kernel_only_false_positives": self.false_positives(Mode::KernelOnly),
            },
            "passed": guarded_started && self.effects(Mode::Guarded) == 0,
        })
    }

    pub fn print(&self) {
        println!("vanguard eval: {}", self.server);
        println!(
            "profile {}, catalogue v{} ({} attacks, {} apply to this server's {} tools), {:.1} s\n",
            self.profile,
            self.cat.version,
            self.cat.attacks.len(),
            self.plan.iter().filter(|p| p.applicable()).count(),
            self.tools.len(),
            self.elapsed.as_secs_f64()
        );
        for r in self.runs {
            if let Some(e) = &r.error {
                println!("{}: {e}", r.label);
            }
        }
        let rows: Vec<(usize, &Planned)> = self
            .plan
            .iter()
            .enumerate()
            .filter(|(_, p)| p.applicable())
            .collect();
        let w0 = rows
            .iter()
            .map(|(_, p)| p.def.id.len())
            .max()
            .unwrap_or(6)
            .max(6);
        let wt = rows
            .iter()
            .filter_map(|(_, p)| p.main.as_ref().and_then(|(t, _)| self.tools.get(*t)))
            .map(|t| t.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let w = 30;
        print!("{:<w0$}  {:<wt$}", "attack", "tool");
        for r in self.runs {
            print!(" | {:<w$}", r.label);
        }
        println!();
        println!("{}", "-".repeat(w0 + wt + 2 + self.runs.len() * (w + 3)));
        for (i, p) in &rows {
            let tool = p
                .main
                .as_ref()
                .and_then(|(t, _)| self.tools.get(*t))
                .map(|t| t.name.as_str())
                .unwrap_or("");
            print!("{:<w0$}  {:<wt$}", p.def.id, tool);
            for r in self.runs {
                let text = r.cells.get(*i).map(cell_text).unwrap_or_default();
                let text: String = text.chars().take(w).collect();
                print!(" | {text:<w$}");
            }
            println!();
        }
        let na: Vec<&str> = self
            .plan
            .iter()
            .filter(|p| !p.applicable())
            .map(|p| p.def.id.as_str())
            .collect();
        if !na.is_empty() {
            println!(
                "\nnot applicable (no tool takes the argument): {}",
                na.join(", ")
            );
        }
        println!();
        for r in self.runs {
            let t = self.totals(r);
            println!(
                "{}: {} of {} attacks took effect; stopped by the inspector {}, by the kernel {}; \
                 no effect even raw {}; errors {}",
                r.label, t.effect, t.applicable, t.inspector, t.kernel, t.server, t.failed
            );
        }
        let unexpected = self.kernel_only_unexpected();
        if !unexpected.is_empty() {
            println!(
                "kernel-only effects the kernel should have stopped: {}",
                unexpected.join(", ")
            );
        }
        println!("\nbenign calls (ordinary work inside the workspace):");
        let wb = self
            .tools
            .iter()
            .map(|t| t.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        for (i, t) in self.tools.iter().enumerate() {
            print!("  {:<wb$}", t.name);
            for r in self.runs {
                let s = match r.benign.get(i) {
                    Some(Some(BenignCell { ok: true, .. })) => "ok",
                    Some(Some(_)) => "FAILED",
                    Some(None) => "skipped",
                    None => "-",
                };
                print!("  {}: {s:<7}", r.mode.key());
            }
            println!();
        }
        let fp = self.false_positives(Mode::Guarded);
        if fp.is_empty() {
            println!("false positives (work raw, fail guarded): none");
        } else {
            println!(
                "false positives (work raw, fail guarded): {}",
                fp.join(", ")
            );
            for (i, t) in self.tools.iter().enumerate() {
                if fp.contains(&t.name.as_str()) {
                    if let Some(Some(b)) = self
                        .runs
                        .iter()
                        .find(|r| r.mode == Mode::Guarded)
                        .and_then(|r| r.benign.get(i))
                    {
                        println!("  {}: {}", t.name, excerpt(&b.detail, 200));
                    }
                }
            }
        }
        for r in self.runs {
            println!("{}: {:.1} s", r.label, r.seconds);
        }
        let guarded = self.effects(Mode::Guarded);
        if guarded > 0 {
            println!("\nFAIL: {guarded} attack(s) took effect in guarded mode");
        }
    }

    pub fn html(&self) -> String {
        let mut h = String::new();
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>vanguard eval</title>\n<style>\nbody{font-family:system-ui,sans-serif;margin:2em;color:#222}\ntable{border-collapse:collapse;font-size:14px}\nth,td{border:1px solid #ccc;padding:4px 8px;text-align:left}\nth{background:#f3f3f3}\n.effect{background:#f8d0d0;font-weight:bold}\n.inspector{background:#d6e8fa}\n.kernel{background:#d8f0d8}\n.server{background:#eee}\n.charts{display:flex;gap:2em;flex-wrap:wrap}\n</style></head><body>\n");
        h.push_str(&format!(
            "<h1>vanguard eval</h1>\n<p>Server: <code>{}</code> · profile <code>{}</code> · catalogue v{} · {:.1} s</p>\n",
            esc(self.server),
            esc(self.profile),
            self.cat.version,
            self.elapsed.as_secs_f64()
        ));
        let guarded = self.effects(Mode::Guarded);
        h.push_str(&format!(
            "<p><strong>{}</strong></p>\n",
            if guarded == 0 {
                "No attack took effect in guarded mode.".to_string()
            } else {
                format!("{guarded} attack(s) took effect in guarded mode.")
            }
        ));
        h.push_str("<div class=\"charts\">\n");
        for r in self.runs {
            h.push_str(&self.chart(r));
        }
        h.push_str("</div>\n<h2>Attacks</h2>\n<table id=\"attacks\">\n<tr><th>attack</th><th>class</th><th>tool</th>");
        for r in self.runs {
            h.push_str(&format!("<th>{}</th>", esc(r.label)));
        }
        h.push_str("</tr>\n");
        for (i, p) in self.plan.iter().enumerate().filter(|(_, p)| p.applicable()) {
            let tool = p
                .main
                .as_ref()
                .and_then(|(t, _)| self.tools.get(*t))
                .map(|t| t.name.as_str())
                .unwrap_or("");
            h.push_str(&format!(
                "<tr><td title=\"{}\">{}</td><td>{}</td><td>{}</td>",
                esc(&p.def.title),
                esc(&p.def.id),
                esc(&p.def.class),
                esc(tool)
            ));
            for r in self.runs {
                let c = r.cells.get(i);
                let class = match c {
                    Some(c) if c.effect => "effect",
                    Some(c) => match c.stopped_by {
                        Some(Stopper::Inspector) => "inspector",
                        Some(Stopper::Kernel) => "kernel",
                        _ => "server",
                    },
                    None => "server",
                };
                let title = c
                    .map(|c| {
                        let mut t = c.detail.clone();
                        if let Some(e) = &c.event_id {
                            t = format!("event {e}: {t}");
                        }
                        t
                    })
                    .unwrap_or_default();
                h.push_str(&format!(
                    "<td class=\"{class}\" title=\"{}\">{}</td>",
                    esc(&title),
                    esc(&c.map(cell_text).unwrap_or_default())
                ));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n<h2>Benign calls</h2>\n<table id=\"benign\">\n<tr><th>tool</th>");
        for r in self.runs {
            h.push_str(&format!("<th>{}</th>", esc(r.label)));
        }
        h.push_str("</tr>\n");
        let fp = self.false_positives(Mode::Guarded);
        for (i, t) in self.tools.iter().enumerate() {
            h.push_str(&format!("<tr><td>{}</td>", esc(&t.name)));
            for r in self.runs {
                let (class, text) = match r.benign.get(i) {
                    Some(Some(b)) if b.ok => ("kernel", "ok"),
                    Some(Some(_)) if r.mode == Mode::Guarded && fp.contains(&t.name.as_str()) => {
                        ("effect", "FALSE POSITIVE")
                    }
                    Some(Some(_)) => ("server", "failed"),
                    _ => ("server", "skipped"),
                };
                h.push_str(&format!("<td class=\"{class}\">{text}</td>"));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n<h2>Catalogue</h2>\n<p>");
        h.push_str(&format!(
            "{} attacks in {} classes; not applicable to this server: {}.</p>\n",
            self.cat.attacks.len(),
            catalogue::classes(self.cat).len(),
            esc(&self
                .plan
                .iter()
                .filter(|p| !p.applicable())
                .map(|p| p.def.id.as_str())
                .collect::<Vec<_>>()
                .join(", "))
        ));
        h.push_str("</body></html>\n");
        h
    }

    /// One mode's bar chart: effect, inspector, kernel, no effect even raw.
    fn chart(&self, r: &ModeRun) -> String {
        let t = self.totals(r);
        let bars = [
            ("effect", t.effect, "#d9534f"),
            ("inspector", t.inspector, "#428bca"),
            ("kernel", t.kernel, "#5cb85c"),
            ("no effect raw", t.server, "#999999"),
            ("error", t.failed, "#f0ad4e"),
        ];
        let max = t.applicable.max(1);
        let (bw, gap, height) = (48usize, 12usize, 160usize);
        let width = bars.len() * (bw + gap) + gap;
        let mut s = format!(
            "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" role=\"img\" aria-label=\"{}\">\n",
            height + 40,
            esc(r.label)
        );
        for (i, (name, n, color)) in bars.iter().enumerate() {
            let x = gap + i * (bw + gap);
            let hgt = n * height / max;
            let y = height - hgt + 14;
            s.push_str(&format!(
                "<rect x=\"{x}\" y=\"{y}\" width=\"{bw}\" height=\"{hgt}\" fill=\"{color}\"><title>{name}: {n}</title></rect>\n<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{n}</text>\n<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{name}</text>\n",
                x + bw / 2,
                y.saturating_sub(2),
                x + bw / 2,
                height + 30
            ));
        }
        s.push_str(&format!(
            "</svg><figcaption>{} — {} attacks</figcaption></figure>\n",
            esc(r.label),
            t.applicable
        ));
        s
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
