//! The media service (`trt`, ver10): one profile, the camera's JPEG stream as
//! `/image.cgi` configures it (resolution, frame rate, quality from `CompressionRate`),
//! and the stream and snapshot URIs.

use crate::service::{host_of, Call};
use crate::soap::Fault;
use crate::xml::escape;

/// The one media profile.
pub(crate) const PROFILE_TOKEN: &str = "profile_1";
const VIDEO_SOURCE_TOKEN: &str = "video_source_1";
const SOURCE_CONFIG_TOKEN: &str = "video_source_config_1";
const ENCODER_CONFIG_TOKEN: &str = "video_encoder_config_1";

/// Checks the `ProfileToken` argument names the one profile.
pub(crate) fn check_profile(call: &Call) -> Result<(), Fault> {
    match call.args.child_text("ProfileToken") {
        Some(PROFILE_TOKEN) => Ok(()),
        Some(other) => Err(Fault::invalid_arg(
            "ter:NoProfile",
            &format!("no profile {other:?}"),
        )),
        None => Err(Fault::invalid_args("ProfileToken is required")),
    }
}

fn check_token(call: &Call, argument: &str, token: &str) -> Result<(), Fault> {
    match call.args.child_text(argument) {
        Some(given) if given == token => Ok(()),
        Some(given) => Err(Fault::invalid_arg(
            "ter:NoConfig",
            &format!("no configuration {given:?}"),
        )),
        None => Err(Fault::invalid_args(&format!("{argument} is required"))),
    }
}

pub(crate) fn capabilities(call: &Call) -> String {
    let rtsp = call.rtsp_port.is_some();
    format!(
        "<trt:Capabilities SnapshotUri=\"true\" Rotation=\"false\" VideoSourceMode=\"false\" \
         OSD=\"false\"><trt:ProfileCapabilities MaximumNumberOfProfiles=\"1\"/>\
         <trt:StreamingCapabilities RTPMulticast=\"false\" RTP_TCP=\"{rtsp}\" \
         RTP_RTSP_TCP=\"{rtsp}\" NonAggregateControl=\"false\" NoRTSPStreaming=\"{}\"/>\
         </trt:Capabilities>",
        !rtsp
    )
}

pub(crate) fn service_capabilities(call: &mut Call) -> Result<String, Fault> {
    Ok(format!(
        "<trt:GetServiceCapabilitiesResponse>{}</trt:GetServiceCapabilitiesResponse>",
        capabilities(call)
    ))
}

fn source_configuration(call: &Call, element: &str) -> String {
    let video = call.camera.video();
    format!(
        "<{element} token=\"{SOURCE_CONFIG_TOKEN}\"><tt:Name>VideoSource</tt:Name>\
         <tt:UseCount>1</tt:UseCount><tt:SourceToken>{VIDEO_SOURCE_TOKEN}</tt:SourceToken>\
         <tt:Bounds x=\"0\" y=\"0\" width=\"{}\" height=\"{}\"/></{element}>",
        video.width, video.height
    )
}

fn encoder_configuration(call: &Call, element: &str) -> String {
    let video = call.camera.video();
    format!(
        "<{element} token=\"{ENCODER_CONFIG_TOKEN}\"><tt:Name>JPEG</tt:Name>\
         <tt:UseCount>1</tt:UseCount><tt:Encoding>JPEG</tt:Encoding><tt:Resolution>\
         <tt:Width>{}</tt:Width><tt:Height>{}</tt:Height></tt:Resolution>\
         <tt:Quality>{}</tt:Quality><tt:RateControl><tt:FrameRateLimit>{}</tt:FrameRateLimit>\
         <tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>0</tt:BitrateLimit>\
         </tt:RateControl><tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type>\
         <tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port>\
         <tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>\
         <tt:SessionTimeout>PT60S</tt:SessionTimeout></{element}>",
        video.width, video.height, video.quality, video.fps
    )
}

fn profile_xml(call: &Call, element: &str) -> String {
    format!(
        "<{element} token=\"{PROFILE_TOKEN}\" fixed=\"true\"><tt:Name>MainStream</tt:Name>{}{}{}\
         </{element}>",
        source_configuration(call, "tt:VideoSourceConfiguration"),
        encoder_configuration(call, "tt:VideoEncoderConfiguration"),
        crate::ptz::configuration_xml("tt:PTZConfiguration")
    )
}

pub(crate) fn profiles(call: &mut Call) -> Result<String, Fault> {
    Ok(format!(
        "<trt:GetProfilesResponse>{}</trt:GetProfilesResponse>",
        profile_xml(call, "trt:Profiles")
    ))
}

pub(crate) fn profile(call: &mut Call) -> Result<String, Fault> {
    check_profile(call)?;
    Ok(format!(
        "<trt:GetProfileResponse>{}</trt:GetProfileResponse>",
        profile_xml(call, "trt:Profile")
    ))
}

pub(crate) fn video_sources(call: &mut Call) -> Result<String, Fault> {
    let video = call.camera.video();
    Ok(format!(
        "<trt:GetVideoSourcesResponse><trt:VideoSources token=\"{VIDEO_SOURCE_TOKEN}\">\
         <tt:Framerate>{}</tt:Framerate><tt:Resolution><tt:Width>{}</tt:Width>\
         <tt:Height>{}</tt:Height></tt:Resolution></trt:VideoSources>\
         </trt:GetVideoSourcesResponse>",
        video.fps, video.width, video.height
    ))
}

pub(crate) fn source_configurations(call: &mut Call) -> Result<String, Fault> {
    Ok(format!(
        "<trt:GetVideoSourceConfigurationsResponse>{}</trt:GetVideoSourceConfigurationsResponse>",
        source_configuration(call, "trt:Configurations")
    ))
}

pub(crate) fn source_configuration_op(call: &mut Call) -> Result<String, Fault> {
    check_token(call, "ConfigurationToken", SOURCE_CONFIG_TOKEN)?;
    Ok(format!(
        "<trt:GetVideoSourceConfigurationResponse>{}</trt:GetVideoSourceConfigurationResponse>",
        source_configuration(call, "trt:Configuration")
    ))
}

pub(crate) fn encoder_configurations(call: &mut Call) -> Result<String, Fault> {
    Ok(format!(
        "<trt:GetVideoEncoderConfigurationsResponse>{}\
         </trt:GetVideoEncoderConfigurationsResponse>",
        encoder_configuration(call, "trt:Configurations")
    ))
}

pub(crate) fn encoder_configuration_op(call: &mut Call) -> Result<String, Fault> {
    check_token(call, "ConfigurationToken", ENCODER_CONFIG_TOKEN)?;
    Ok(format!(
        "<trt:GetVideoEncoderConfigurationResponse>{}</trt:GetVideoEncoderConfigurationResponse>",
        encoder_configuration(call, "trt:Configuration")
    ))
}

/// `GetVideoEncoderConfigurationOptions`: what `/image.cgi` can be set to.
pub(crate) fn encoder_options(call: &mut Call) -> Result<String, Fault> {
    let (resolutions, max_fps) = call.camera.video_options();
    let resolutions: String = resolutions
        .iter()
        .map(|(width, height)| {
            format!(
                "<tt:ResolutionsAvailable><tt:Width>{width}</tt:Width>\
                 <tt:Height>{height}</tt:Height></tt:ResolutionsAvailable>"
            )
        })
        .collect();
    Ok(format!(
        "<trt:GetVideoEncoderConfigurationOptionsResponse><trt:Options>\
         <tt:QualityRange><tt:Min>{MIN_QUALITY}</tt:Min><tt:Max>{MAX_QUALITY}</tt:Max>\
         </tt:QualityRange><tt:JPEG>{resolutions}<tt:FrameRateRange><tt:Min>1</tt:Min>\
         <tt:Max>{max_fps}</tt:Max></tt:FrameRateRange><tt:EncodingIntervalRange>\
         <tt:Min>1</tt:Min><tt:Max>1</tt:Max></tt:EncodingIntervalRange></tt:JPEG>\
         </trt:Options></trt:GetVideoEncoderConfigurationOptionsResponse>"
    ))
}

/// The JPEG qualities `CompressionRate` spans (Very High 40 .. Very Low 90).
const MIN_QUALITY: u8 = 40;
/// See [`MIN_QUALITY`].
const MAX_QUALITY: u8 = 90;

fn media_uri(element: &str, uri: &str) -> String {
    format!(
        "<{element}><trt:MediaUri><tt:Uri>{}</tt:Uri>\
         <tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>\
         <tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout>\
         </trt:MediaUri></{element}>",
        escape(uri)
    )
}

/// The stream URI: the RTSP server when there is one, else the MJPEG stream over HTTP.
pub(crate) fn stream_uri_text(authority: &str, rtsp_port: Option<u16>) -> String {
    match rtsp_port {
        Some(port) => format!("rtsp://{}:{port}/", host_of(authority)),
        None => format!("http://{authority}/mjpeg.cgi"),
    }
}

pub(crate) fn stream_uri(call: &mut Call) -> Result<String, Fault> {
    check_profile(call)?;
    if let Some(protocol) = call.args.path(&["StreamSetup", "Transport", "Protocol"]) {
        let supported = match call.rtsp_port {
            Some(_) => matches!(protocol.text.as_str(), "RTSP" | "TCP" | "UDP"),
            None => matches!(protocol.text.as_str(), "HTTP" | "RTSP" | "TCP" | "UDP"),
        };
        if !supported {
            return Err(Fault::invalid_arg(
                "ter:InvalidStreamSetup",
                &format!("transport {} is not offered", protocol.text),
            ));
        }
    }
    Ok(media_uri(
        "trt:GetStreamUriResponse",
        &stream_uri_text(call.authority, call.rtsp_port),
    ))
}

pub(crate) fn snapshot_uri(call: &mut Call) -> Result<String, Fault> {
    check_profile(call)?;
    Ok(media_uri(
        "trt:GetSnapshotUriResponse",
        &format!("http://{}/image.jpg", call.authority),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_uri_is_rtsp_when_a_port_is_given() {
        assert_eq!(
            stream_uri_text("10.0.0.5:8080", Some(8554)),
            "rtsp://10.0.0.5:8554/"
        );
        assert_eq!(stream_uri_text("[::1]:80", Some(554)), "rtsp://[::1]:554/");
        assert_eq!(
            stream_uri_text("10.0.0.5:8080", None),
            "http://10.0.0.5:8080/mjpeg.cgi"
        );
    }
}
