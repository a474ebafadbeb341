//! The genesis state of the runtime's presets, for tests that run the real runtime natively.

use medledger_runtime::{genesis_config_presets, RuntimeGenesisConfig};
use serde_json::Value;
use sp_genesis_builder::PresetId;
use sp_runtime::BuildStorage;

/// `patch` merged over `base`, as the node merges a preset over the default config.
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, patch) => *base = patch,
    }
}

pub fn genesis_state(preset: &str) -> sp_io::TestExternalities {
    let patch = genesis_config_presets::get_preset(&PresetId::from(preset))
        .unwrap_or_else(|| panic!("preset {preset} exists"));
    let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
    merge(&mut config, serde_json::from_slice(&patch).unwrap());
    let config: RuntimeGenesisConfig = serde_json::from_value(config).unwrap();
    sp_io::TestExternalities::new(config.build_storage().expect("the preset builds"))
}
