//! The live sessions of this process, for the control socket
//! (`vanguard risk show|reset`).

use super::*;

/// The live sessions of this process (for the control socket): weak, so a
/// session's end needs no bookkeeping beyond pruning.
pub(super) static LIVE: Mutex<Vec<std::sync::Weak<Shared>>> = Mutex::new(Vec::new());

/// A live session, as the control socket reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionInfo {
    pub session_id: String,
    pub server_id: String,
    pub profile: String,
    pub principal: Option<String>,
    /// Whose L3 state the session uses (sessions with one key share it).
    pub behavior_key: String,
    pub risk: Option<f64>,
    pub started: String,
}

pub(super) fn live() -> Vec<Arc<Shared>> {
    let mut l = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    l.retain(|w| w.strong_count() > 0);
    l.iter().filter_map(std::sync::Weak::upgrade).collect()
}

/// The sessions running in this process.
pub fn live_sessions() -> Vec<SessionInfo> {
    live()
        .iter()
        .map(|s| SessionInfo {
            session_id: s.cfg.session_id.to_string(),
            server_id: s.cfg.server_id.to_string(),
            profile: s.cfg.profile.to_string(),
            principal: s.cfg.principal.clone(),
            behavior_key: s.l3_key.clone(),
            risk: s.risk_now(),
            started: s.started.clone(),
        })
        .collect()
}

/// Resets the L3 risk score of session `id` (or of every session for
/// `*`) in its state store; returns the sessions reset.
pub async fn reset_risk(id: &str) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    for s in live() {
        if id != "*" && *s.cfg.session_id != *id {
            continue;
        }
        let Some(engine) = s.cfg.behavior.clone().filter(|e| e.cfg.enabled) else {
            continue;
        };
        let now = crate::behavior::now_ms();
        engine
            .store
            .reset_risk(&s.l3_key, now)
            .await
            .map_err(|e| format!("session {}: {e}", s.cfg.session_id))?;
        s.set_risk(0.0, now);
        s.risk_ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        tracing::warn!(
            session = &*s.cfg.session_id,
            "risk score reset by an operator"
        );
        s.lifecycle(
            EventKind::RiskReset,
            json!({ "by": "operator (control socket)" }),
        );
        done.push(s.cfg.session_id.to_string());
    }
    Ok(done)
}
