//! The Redis store (placeholder: being written).

use super::store::StoreError;
use super::{BehaviorConfig, CallObs, CallState, ResultObs, ResultState};

pub struct RedisStore;

impl RedisStore {
    pub async fn connect(_url: &str, _cfg: &BehaviorConfig) -> Result<RedisStore, StoreError> {
        Err(StoreError {
            store: "redis",
            message: "not built yet".into(),
        })
    }
    pub async fn observe_call(&self, _key: &str, _obs: &CallObs) -> Result<CallState, StoreError> {
        unreachable!()
    }
    pub async fn add_risk(&self, _key: &str, _now_ms: u64, _delta: f64) -> Result<f64, StoreError> {
        unreachable!()
    }
    pub async fn observe_result(
        &self,
        _key: &str,
        _obs: &ResultObs,
    ) -> Result<ResultState, StoreError> {
        unreachable!()
    }
}
