//! The PTZ service (`tptz`, ver20): one node and configuration over the camera's pan-tilt
//! head, moves in ONVIF's generic spaces (see [`crate::space`]), and the camera's own
//! preset slots as ONVIF presets (token `"N"` is preset N of `/pantiltcontrol.cgi`).
//!
//! The head has one speed (its motion profile): a requested speed is accepted and not
//! used, and a continuous move heads for the end of the travel in the velocity's
//! direction until `Stop`, another move, or the request's `Timeout`.

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::camera::{Motion, PanTilt, PtzRefusal};
use crate::media::check_profile;
use crate::service::Call;
use crate::soap::Fault;
use crate::space::{
    self, in_unit_range, POSITION_SPACE, SPEED_SPACE, TRANSLATION_SPACE, VELOCITY_SPACE,
};
use crate::xml::{escape, Element};

const NODE_TOKEN: &str = "ptz_node_1";
const CONFIG_TOKEN: &str = "ptz_config_1";
/// Longest continuous move timeout honoured.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

pub(crate) fn capabilities() -> String {
    "<tptz:Capabilities EFlip=\"false\" Reverse=\"false\" GetCompatibleConfigurations=\"false\" \
     MoveStatus=\"true\" StatusPosition=\"true\"/>"
        .to_owned()
}

pub(crate) fn service_capabilities(_call: &mut Call) -> Result<String, Fault> {
    Ok(format!(
        "<tptz:GetServiceCapabilitiesResponse>{}</tptz:GetServiceCapabilitiesResponse>",
        capabilities()
    ))
}

fn range_2d(uri: &str, x: (f64, f64), y: (f64, f64)) -> String {
    format!(
        "<tt:URI>{uri}</tt:URI><tt:XRange><tt:Min>{}</tt:Min><tt:Max>{}</tt:Max></tt:XRange>\
         <tt:YRange><tt:Min>{}</tt:Min><tt:Max>{}</tt:Max></tt:YRange>",
        x.0, x.1, y.0, y.1
    )
}

pub(crate) fn configuration_xml(element: &str) -> String {
    format!(
        "<{element} token=\"{CONFIG_TOKEN}\"><tt:Name>PTZ</tt:Name><tt:UseCount>1</tt:UseCount>\
         <tt:NodeToken>{NODE_TOKEN}</tt:NodeToken>\
         <tt:DefaultAbsolutePantTiltPositionSpace>{POSITION_SPACE}\
         </tt:DefaultAbsolutePantTiltPositionSpace>\
         <tt:DefaultRelativePanTiltTranslationSpace>{TRANSLATION_SPACE}\
         </tt:DefaultRelativePanTiltTranslationSpace>\
         <tt:DefaultContinuousPanTiltVelocitySpace>{VELOCITY_SPACE}\
         </tt:DefaultContinuousPanTiltVelocitySpace>\
         <tt:DefaultPTZSpeed><tt:PanTilt x=\"1\" y=\"1\" space=\"{SPEED_SPACE}\"/>\
         </tt:DefaultPTZSpeed><tt:DefaultPTZTimeout>PT10S</tt:DefaultPTZTimeout>\
         <tt:PanTiltLimits><tt:Range>{}</tt:Range></tt:PanTiltLimits></{element}>",
        range_2d(POSITION_SPACE, (-1.0, 1.0), (-1.0, 1.0))
    )
}

pub(crate) fn configurations(_call: &mut Call) -> Result<String, Fault> {
    Ok(format!(
        "<tptz:GetConfigurationsResponse>{}</tptz:GetConfigurationsResponse>",
        configuration_xml("tptz:PTZConfiguration")
    ))
}

pub(crate) fn configuration(call: &mut Call) -> Result<String, Fault> {
    match call.args.child_text("PTZConfigurationToken") {
        Some(CONFIG_TOKEN) => Ok(format!(
            "<tptz:GetConfigurationResponse>{}</tptz:GetConfigurationResponse>",
            configuration_xml("tptz:PTZConfiguration")
        )),
        Some(other) => Err(Fault::invalid_arg(
            "ter:NoEntity",
            &format!("no PTZ configuration {other:?}"),
        )),
        None => Err(Fault::invalid_args("PTZConfigurationToken is required")),
    }
}

fn spaces_xml(element_prefix: &str) -> String {
    let unit = (-1.0, 1.0);
    format!(
        "<{p}AbsolutePanTiltPositionSpace>{}</{p}AbsolutePanTiltPositionSpace>\
         <{p}RelativePanTiltTranslationSpace>{}</{p}RelativePanTiltTranslationSpace>\
         <{p}ContinuousPanTiltVelocitySpace>{}</{p}ContinuousPanTiltVelocitySpace>\
         <{p}PanTiltSpeedSpace><tt:URI>{SPEED_SPACE}</tt:URI><tt:XRange><tt:Min>0</tt:Min>\
         <tt:Max>1</tt:Max></tt:XRange></{p}PanTiltSpeedSpace>",
        range_2d(POSITION_SPACE, unit, unit),
        range_2d(TRANSLATION_SPACE, unit, unit),
        range_2d(VELOCITY_SPACE, unit, unit),
        p = element_prefix
    )
}

/// `GetConfigurationOptions`: the spaces a configuration supports (Home Assistant and
/// other NVRs read which moves a camera offers from here).
pub(crate) fn configuration_options(call: &mut Call) -> Result<String, Fault> {
    match call.args.child_text("ConfigurationToken") {
        Some(CONFIG_TOKEN) => Ok(format!(
            "<tptz:GetConfigurationOptionsResponse><tptz:PTZConfigurationOptions>\
             <tt:Spaces>{}</tt:Spaces><tt:PTZTimeout><tt:Min>PT0S</tt:Min>\
             <tt:Max>PT{}S</tt:Max></tt:PTZTimeout></tptz:PTZConfigurationOptions>\
             </tptz:GetConfigurationOptionsResponse>",
            spaces_xml("tt:"),
            MAX_TIMEOUT.as_secs()
        )),
        Some(other) => Err(Fault::invalid_arg(
            "ter:NoConfig",
            &format!("no PTZ configuration {other:?}"),
        )),
        None => Err(Fault::invalid_args("ConfigurationToken is required")),
    }
}

fn node_xml(call: &Call, element: &str) -> String {
    format!(
        "<{element} token=\"{NODE_TOKEN}\" FixedHomePosition=\"true\"><tt:Name>PanTilt</tt:Name>\
         <tt:SupportedPTZSpaces>{}</tt:SupportedPTZSpaces>\
         <tt:MaximumNumberOfPresets>{}</tt:MaximumNumberOfPresets>\
         <tt:HomeSupported>true</tt:HomeSupported></{element}>",
        spaces_xml("tt:"),
        call.camera.preset_slots()
    )
}

pub(crate) fn nodes(call: &mut Call) -> Result<String, Fault> {
    Ok(format!(
        "<tptz:GetNodesResponse>{}</tptz:GetNodesResponse>",
        node_xml(call, "tptz:PTZNode")
    ))
}

pub(crate) fn node(call: &mut Call) -> Result<String, Fault> {
    match call.args.child_text("NodeToken") {
        Some(NODE_TOKEN) => Ok(format!(
            "<tptz:GetNodeResponse>{}</tptz:GetNodeResponse>",
            node_xml(call, "tptz:PTZNode")
        )),
        Some(other) => Err(Fault::invalid_arg(
            "ter:NoEntity",
            &format!("no PTZ node {other:?}"),
        )),
        None => Err(Fault::invalid_args("NodeToken is required")),
    }
}

fn generic_position(call: &Call, at: PanTilt) -> String {
    let limits = call.camera.pan_tilt_limits();
    format!(
        "<tt:PanTilt x=\"{}\" y=\"{}\" space=\"{POSITION_SPACE}\"/>",
        space::to_generic(at.pan, limits.pan),
        space::to_generic(at.tilt, limits.tilt)
    )
}

pub(crate) fn status(call: &mut Call) -> Result<String, Fault> {
    check_profile(call)?;
    let (at, moving) = call.camera.position();
    let now: DateTime<Utc> = call.camera.clock().now.into();
    Ok(format!(
        "<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position>{}</tt:Position>\
         <tt:MoveStatus><tt:PanTilt>{}</tt:PanTilt></tt:MoveStatus>\
         <tt:UtcTime>{}</tt:UtcTime></tptz:PTZStatus></tptz:GetStatusResponse>",
        generic_position(call, at),
        if moving { "MOVING" } else { "IDLE" },
        now.to_rfc3339_opts(SecondsFormat::Secs, true)
    ))
}

/// The `x`/`y` of a `PanTilt` vector, checked against `space_uri` and −1..=1.
fn vector(
    parent: Option<&Element>,
    space_uri: &str,
    fault: &'static str,
) -> Result<Option<(f64, f64)>, Fault> {
    let Some(pan_tilt) = parent.and_then(|p| p.child("PanTilt")) else {
        return Ok(None);
    };
    if let Some(given) = pan_tilt.attr("space") {
        if given != space_uri {
            return Err(Fault::invalid_arg(
                fault,
                &format!("space {given} is not supported"),
            ));
        }
    }
    let coordinate = |name: &str| -> Result<f64, Fault> {
        let text = pan_tilt
            .attr(name)
            .ok_or_else(|| Fault::invalid_args(&format!("PanTilt needs {name}")))?;
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| in_unit_range(*v))
            .ok_or_else(|| Fault::invalid_arg(fault, &format!("PanTilt {name} must be -1..1")))
    };
    Ok(Some((coordinate("x")?, coordinate("y")?)))
}

fn move_head(call: &mut Call, motion: Motion) -> Result<(), Fault> {
    *call.stop_at = None;
    call.camera.move_head(motion).map_err(refusal)
}

fn refusal(err: PtzRefusal) -> Fault {
    match err {
        PtzRefusal::NoSuchPreset(_) => Fault::invalid_arg("ter:NoToken", &err.to_string()),
        PtzRefusal::BadName(_) => Fault::invalid_arg("ter:InvalidPresetName", &err.to_string()),
        PtzRefusal::Unavailable => Fault::receiver("ter:Action", &err.to_string()),
    }
}

pub(crate) fn absolute_move(call: &mut Call) -> Result<String, Fault> {
    check_profile(call)?;
    let target = vector(
        call.args.child("Position"),
        POSITION_SPACE,
        "ter:InvalidPosition",
    )?;
    if let Some((x, y)) = target {
        let limits = call.camera.pan_tilt_limits();
        let to = PanTilt {
            pan: space::from_generic(x, limits.pan),
            tilt: space::from_generic(y, limits.tilt),
        };
        move_head(call, Motion::MoveTo(to))?;
    }
    Ok("<tptz:AbsoluteMoveResponse/>".to_owned())
}

pub(crate) fn relative_move(call: &mut Call) -> Result<String, Fault> {
    check_profile(call)?;
    let delta = vector(
        call.args.child("Translation"),
        TRANSLATION_SPACE,
        "ter:InvalidTranslation",
    )?;
    if let Some((dx, dy)) = delta {
        let limits = call.camera.pan_tilt_limits();
        let (at, _) = call.camera.position();
        let to = PanTilt {
            pan: space::translate(at.pan, dx, limits.pan),
            tilt: space::translate(at.tilt, dy, limits.tilt),
        };
        move_head(call, Motion::MoveTo(to))?;
    }
    Ok("<tptz:RelativeMoveResponse/>".to_owned())
}

pub(crate) fn continuous_move(call: &mut Call) -> Result<String, Fault> {
    check_profile(call)?;
    let timeout = match call.args.child_text("Timeout") {
        Some(text) => Some(parse_duration(text).ok_or_else(|| {
            Fault::invalid_arg("ter:InvalidArgVal", "Timeout is not an xs:duration")
        })?),
        None => None,
    };
    let velocity = vector(
        call.args.child("Velocity"),
        VELOCITY_SPACE,
        "ter:InvalidVelocity",
    )?;
    let Some((vx, vy)) = velocity else {
        return Ok("<tptz:ContinuousMoveResponse/>".to_owned());
    };
    if vx == 0.0 && vy == 0.0 {
        move_head(call, Motion::Stop)?;
        return Ok("<tptz:ContinuousMoveResponse/>".to_owned());
    }
    let limits = call.camera.pan_tilt_limits();
    let (at, _) = call.camera.position();
    let to = PanTilt {
        pan: space::heading(at.pan, vx, limits.pan),
        tilt: space::heading(at.tilt, vy, limits.tilt),
    };
    move_head(call, Motion::MoveTo(to))?;
    *call.stop_at = timeout.map(|t| Instant::now() + t.min(MAX_TIMEOUT));
    Ok("<tptz:ContinuousMoveResponse/>".to_owned())
}

pub(crate) fn stop(call: &mut Call) -> Result<String, Fault> {
    check_profile(call)?;
    let pan_tilt = call
        .args
        .child_text("PanTilt")
        .is_none_or(|v| v == "true" || v == "1");
    if pan_tilt {
        move_head(call, Motion::Stop)?;
    }
    Ok("<tptz:StopResponse/>".to_owned())
}

pub(crate) fn goto_home(call: &mut Call) -> Result<String, Fault> {
    check_profile(call)?;
    move_head(call, Motion::Home)?;
    Ok("<tptz:GotoHomePositionResponse/>".to_owned())
}

pub(crate) fn presets(call: &mut Call) -> Result<String, Fault> {
    check_profile(call)?;
    let presets: String = call
        .camera
        .presets()
        .iter()
        .map(|preset| {
            format!(
                "<tptz:Preset token=\"{}\"><tt:Name>{}</tt:Name><tt:PTZPosition>{}\
                 </tt:PTZPosition></tptz:Preset>",
                preset.number,
                escape(&preset.name),
                generic_position(call, preset.at)
            )
        })
        .collect();
    Ok(format!(
        "<tptz:GetPresetsResponse>{presets}</tptz:GetPresetsResponse>"
    ))
}

/// The slot a `PresetToken` names.
fn preset_number(call: &Call) -> Result<Option<u8>, Fault> {
    let Some(token) = call.args.child_text("PresetToken") else {
        return Ok(None);
    };
    token
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|n| (1..=call.camera.preset_slots()).contains(n))
        .map(Some)
        .ok_or_else(|| Fault::invalid_arg("ter:NoToken", &format!("no preset {token:?}")))
}

fn required_preset(call: &Call) -> Result<u8, Fault> {
    preset_number(call)?.ok_or_else(|| Fault::invalid_args("PresetToken is required"))
}

pub(crate) fn set_preset(call: &mut Call) -> Result<String, Fault> {
    check_profile(call)?;
    let existing = call.camera.presets();
    let number = match preset_number(call)? {
        Some(number) => number,
        None => (1..=call.camera.preset_slots())
            .find(|n| !existing.iter().any(|p| p.number == *n))
            .ok_or_else(|| Fault::receiver("ter:TooManyPresets", "every preset slot is in use"))?,
    };
    let name = call.args.child_text("PresetName").map(str::to_owned);
    let is_new = !existing.iter().any(|p| p.number == number);
    let name = name.or_else(|| is_new.then(|| format!("Preset {number}")));
    call.camera
        .set_preset(number, name.as_deref())
        .map_err(refusal)?;
    call.presets_changed = true;
    Ok(format!(
        "<tptz:SetPresetResponse><tptz:PresetToken>{number}</tptz:PresetToken>\
         </tptz:SetPresetResponse>"
    ))
}

pub(crate) fn goto_preset(call: &mut Call) -> Result<String, Fault> {
    check_profile(call)?;
    let number = required_preset(call)?;
    move_head(call, Motion::GotoPreset(number))?;
    Ok("<tptz:GotoPresetResponse/>".to_owned())
}

pub(crate) fn remove_preset(call: &mut Call) -> Result<String, Fault> {
    check_profile(call)?;
    let number = required_preset(call)?;
    if !call.camera.presets().iter().any(|p| p.number == number) {
        return Err(Fault::invalid_arg(
            "ter:NoToken",
            &format!("preset {number} is not set"),
        ));
    }
    call.camera.remove_preset(number).map_err(refusal)?;
    call.presets_changed = true;
    Ok("<tptz:RemovePresetResponse/>".to_owned())
}

/// An xs:duration of days, hours, minutes and seconds (`PT5S`, `PT1M30.5S`, `P1DT2H`).
fn parse_duration(text: &str) -> Option<Duration> {
    let rest = text.trim().strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut seconds = 0.0f64;
    let mut read = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
            } else {
                let scale = units.iter().find(|(unit, _)| *unit == c)?.1;
                seconds += number.parse::<f64>().ok()? * scale;
                number.clear();
            }
        }
        number.is_empty().then_some(())
    };
    read(date, &[('D', 86_400.0)])?;
    read(time, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])?;
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_of_ptz_timeouts_parse() {
        assert_eq!(parse_duration("PT5S"), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_duration("PT1M30.5S"),
            Some(Duration::from_millis(90_500))
        );
        assert_eq!(parse_duration("P1DT2H"), Some(Duration::from_secs(93_600)));
        assert_eq!(parse_duration("PT0S"), Some(Duration::ZERO));
        assert_eq!(parse_duration("5S"), None);
        assert_eq!(parse_duration("PT5X"), None);
        assert_eq!(parse_duration("PT5"), None);
    }
}
