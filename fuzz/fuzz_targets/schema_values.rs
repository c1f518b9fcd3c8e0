//! Every chapter-3 parameter's value grammar: a value that parses renders in the spec's
//! spelling, and that rendering parses back to the same value.

#![no_main]

use ipcam_api::harness::{format_value, parse};
use ipcam_api::{
    DateTimeConfig, EmailConfig, ImageConfig, Kind, NetworkConfig, Section, SystemConfig,
    UploadConfig, UserAccessConfig, UserRecord, WirelessConfig,
};
use libfuzzer_sys::fuzz_target;

fn kinds_of<S: Section>(out: &mut Vec<(&'static str, Kind)>) {
    out.extend(S::PARAMS.iter().map(|param| (param.name, param.kind)));
}

fn every_parameter() -> Vec<(&'static str, Kind)> {
    let mut all = Vec::new();
    kinds_of::<SystemConfig>(&mut all);
    kinds_of::<DateTimeConfig>(&mut all);
    kinds_of::<UserAccessConfig>(&mut all);
    kinds_of::<UserRecord>(&mut all);
    kinds_of::<ImageConfig>(&mut all);
    kinds_of::<NetworkConfig>(&mut all);
    kinds_of::<WirelessConfig>(&mut all);
    kinds_of::<UploadConfig>(&mut all);
    kinds_of::<EmailConfig>(&mut all);
    all
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, raw)) = data.split_first() else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(raw) else {
        return;
    };
    let parameters = every_parameter();
    let (name, kind) = parameters[usize::from(pick) % parameters.len()];
    let Ok(value) = parse(&kind, raw) else {
        return;
    };
    let mut rendered = String::new();
    format_value(&kind, &value, &mut rendered);
    assert_eq!(
        parse(&kind, &rendered),
        Ok(value),
        "{name}: {raw:?} rendered as {rendered:?}"
    );
});
