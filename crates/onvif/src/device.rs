//! The device service (`tds`, ver10): identity, clock, capabilities and service list,
//! network interface, scopes, users and host name.

use chrono::{DateTime, Datelike as _, Timelike as _, Utc};

use crate::camera::Level;
use crate::service::{port_of, Call};
use crate::soap::{Fault, NS_TDS, NS_TPTZ, NS_TRT};
use crate::xml::escape;

/// The ONVIF version announced for every service.
const VERSION: (u8, u8) = (2, 0);

/// The service endpoints, relative to the camera's HTTP root.
pub(crate) const DEVICE_PATH: &str = "/onvif/device_service";
/// See [`DEVICE_PATH`].
pub(crate) const MEDIA_PATH: &str = "/onvif/media_service";
/// See [`DEVICE_PATH`].
pub(crate) const PTZ_PATH: &str = "/onvif/ptz_service";

pub(crate) fn xaddr(call: &Call, path: &str) -> String {
    format!("http://{}{path}", escape(call.authority))
}

pub(crate) fn information(call: &mut Call) -> Result<String, Fault> {
    let info = call.camera.device_info();
    Ok(format!(
        "<tds:GetDeviceInformationResponse><tds:Manufacturer>{}</tds:Manufacturer>\
         <tds:Model>{}</tds:Model><tds:FirmwareVersion>{}</tds:FirmwareVersion>\
         <tds:SerialNumber>{}</tds:SerialNumber><tds:HardwareId>{}</tds:HardwareId>\
         </tds:GetDeviceInformationResponse>",
        escape(&info.manufacturer),
        escape(&info.model),
        escape(&info.firmware),
        escape(&info.serial),
        escape(&info.hardware_id)
    ))
}

fn date_time(element: &str, at: DateTime<Utc>) -> String {
    format!(
        "<tt:{element}><tt:Time><tt:Hour>{}</tt:Hour><tt:Minute>{}</tt:Minute>\
         <tt:Second>{}</tt:Second></tt:Time><tt:Date><tt:Year>{}</tt:Year>\
         <tt:Month>{}</tt:Month><tt:Day>{}</tt:Day></tt:Date></tt:{element}>",
        at.hour(),
        at.minute(),
        at.second(),
        at.year(),
        at.month(),
        at.day()
    )
}

pub(crate) fn system_date_and_time(call: &mut Call) -> Result<String, Fault> {
    let clock = call.camera.clock();
    let utc: DateTime<Utc> = clock.now.into();
    let local = utc + chrono::Duration::seconds(i64::from(clock.utc_offset_secs));
    Ok(format!(
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>\
         <tt:DateTimeType>{}</tt:DateTimeType><tt:DaylightSavings>{}</tt:DaylightSavings>\
         <tt:TimeZone><tt:TZ>{}</tt:TZ></tt:TimeZone>{}{}\
         </tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>",
        if clock.ntp { "NTP" } else { "Manual" },
        clock.dst,
        escape(&clock.posix_tz),
        date_time("UTCDateTime", utc),
        date_time("LocalDateTime", local)
    ))
}

fn streaming_capabilities(call: &Call) -> String {
    let rtsp = call.rtsp_port.is_some();
    format!(
        "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>\
         <tt:RTP_TCP>{rtsp}</tt:RTP_TCP><tt:RTP_RTSP_TCP>{rtsp}</tt:RTP_RTSP_TCP>\
         </tt:StreamingCapabilities>"
    )
}

pub(crate) fn capabilities(call: &mut Call) -> Result<String, Fault> {
    let device = format!(
        "<tt:Device><tt:XAddr>{}</tt:XAddr><tt:Network><tt:IPFilter>false</tt:IPFilter>\
         <tt:ZeroConfiguration>false</tt:ZeroConfiguration><tt:IPVersion6>false</tt:IPVersion6>\
         <tt:DynDNS>false</tt:DynDNS></tt:Network><tt:System>\
         <tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>true</tt:DiscoveryBye>\
         <tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup>\
         <tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>\
         <tt:SupportedVersions><tt:Major>{}</tt:Major><tt:Minor>{}</tt:Minor></tt:SupportedVersions>\
         </tt:System><tt:Security><tt:TLS1.1>false</tt:TLS1.1><tt:TLS1.2>false</tt:TLS1.2>\
         <tt:OnboardKeyGeneration>false</tt:OnboardKeyGeneration>\
         <tt:AccessPolicyConfig>false</tt:AccessPolicyConfig><tt:X.509Token>false</tt:X.509Token>\
         <tt:SAMLToken>false</tt:SAMLToken><tt:KerberosToken>false</tt:KerberosToken>\
         <tt:RELToken>false</tt:RELToken></tt:Security></tt:Device>",
        xaddr(call, DEVICE_PATH),
        VERSION.0,
        VERSION.1
    );
    let media = format!(
        "<tt:Media><tt:XAddr>{}</tt:XAddr>{}</tt:Media>",
        xaddr(call, MEDIA_PATH),
        streaming_capabilities(call)
    );
    let ptz = format!(
        "<tt:PTZ><tt:XAddr>{}</tt:XAddr></tt:PTZ>",
        xaddr(call, PTZ_PATH)
    );
    Ok(format!(
        "<tds:GetCapabilitiesResponse><tds:Capabilities>{device}{media}{ptz}\
         </tds:Capabilities></tds:GetCapabilitiesResponse>"
    ))
}

pub(crate) fn services(call: &mut Call) -> Result<String, Fault> {
    let include = call
        .args
        .child_text("IncludeCapability")
        .is_some_and(|v| v == "true" || v == "1");
    let service = |ns: &str, path: &str, capabilities: String| {
        let capabilities = if include {
            format!("<tds:Capabilities>{capabilities}</tds:Capabilities>")
        } else {
            String::new()
        };
        format!(
            "<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{}</tds:XAddr>\
             {capabilities}<tds:Version><tt:Major>{}</tt:Major><tt:Minor>{}</tt:Minor>\
             </tds:Version></tds:Service>",
            xaddr(call, path),
            VERSION.0,
            VERSION.1
        )
    };
    Ok(format!(
        "<tds:GetServicesResponse>{}{}{}</tds:GetServicesResponse>",
        service(NS_TDS, DEVICE_PATH, device_capabilities()),
        service(NS_TRT, MEDIA_PATH, crate::media::capabilities(call)),
        service(NS_TPTZ, PTZ_PATH, crate::ptz::capabilities())
    ))
}

fn device_capabilities() -> String {
    "<tds:Capabilities><tds:Network IPFilter=\"false\" ZeroConfiguration=\"false\" \
     IPVersion6=\"false\" DynDNS=\"false\" HostnameFromDHCP=\"false\"/>\
     <tds:Security TLS1.0=\"false\" TLS1.1=\"false\" TLS1.2=\"false\" \
     OnboardKeyGeneration=\"false\" AccessPolicyConfig=\"false\" DefaultAccessPolicy=\"false\" \
     Dot1X=\"false\" RemoteUserHandling=\"false\" X.509Token=\"false\" SAMLToken=\"false\" \
     KerberosToken=\"false\" UsernameToken=\"true\" HttpDigest=\"false\" RELToken=\"false\"/>\
     <tds:System DiscoveryResolve=\"false\" DiscoveryBye=\"true\" RemoteDiscovery=\"false\" \
     SystemBackup=\"false\" SystemLogging=\"false\" FirmwareUpgrade=\"false\" \
     HttpFirmwareUpgrade=\"false\" HttpSystemBackup=\"false\" HttpSystemLogging=\"false\" \
     HttpSupportInformation=\"false\"/></tds:Capabilities>"
        .to_owned()
}

pub(crate) fn service_capabilities(_call: &mut Call) -> Result<String, Fault> {
    Ok(format!(
        "<tds:GetServiceCapabilitiesResponse>{}</tds:GetServiceCapabilitiesResponse>",
        device_capabilities()
    ))
}

pub(crate) fn hostname(call: &mut Call) -> Result<String, Fault> {
    let network = call.camera.network();
    Ok(format!(
        "<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>\
         <tt:Name>{}</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>",
        escape(&network.hostname)
    ))
}

/// `GetNetworkProtocols`: where HTTP and, when it runs, RTSP listen (NVRs read the RTSP
/// port from here).
pub(crate) fn network_protocols(call: &mut Call) -> Result<String, Fault> {
    let http_port = port_of(call.authority).unwrap_or(80);
    let protocol = |name: &str, port: Option<u16>| {
        format!(
            "<tds:NetworkProtocols><tt:Name>{name}</tt:Name><tt:Enabled>{}</tt:Enabled>\
             <tt:Port>{}</tt:Port></tds:NetworkProtocols>",
            port.is_some(),
            port.unwrap_or(0)
        )
    };
    Ok(format!(
        "<tds:GetNetworkProtocolsResponse>{}{}</tds:GetNetworkProtocolsResponse>",
        protocol("HTTP", Some(http_port)),
        protocol("RTSP", call.rtsp_port)
    ))
}

/// The MAC as ONVIF writes it: `02:ff:5c:8a:13:18`.
pub(crate) fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub(crate) fn network_interfaces(call: &mut Call) -> Result<String, Fault> {
    let net = call.camera.network();
    let address = format!(
        "<tt:Address>{}</tt:Address><tt:PrefixLength>{}</tt:PrefixLength>",
        net.ipv4, net.prefix_len
    );
    let (manual, from_dhcp) = if net.dhcp {
        (
            String::new(),
            format!("<tt:FromDHCP>{address}</tt:FromDHCP>"),
        )
    } else {
        (format!("<tt:Manual>{address}</tt:Manual>"), String::new())
    };
    Ok(format!(
        "<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token=\"{name}\">\
         <tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>{name}</tt:Name>\
         <tt:HwAddress>{}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info><tt:IPv4>\
         <tt:Enabled>true</tt:Enabled><tt:Config>{manual}{from_dhcp}<tt:DHCP>{}</tt:DHCP>\
         </tt:Config></tt:IPv4></tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>",
        mac_text(&net.mac),
        net.dhcp,
        name = escape(&net.interface),
    ))
}

/// The scope URIs of this camera (also announced by WS-Discovery).
pub fn scope_uris(name: &str, location: &str, model: &str) -> Vec<String> {
    let mut scopes = vec![
        "onvif://www.onvif.org/type/video_encoder".to_owned(),
        "onvif://www.onvif.org/type/ptz".to_owned(),
        "onvif://www.onvif.org/Profile/Streaming".to_owned(),
        format!("onvif://www.onvif.org/name/{}", scope_text(name)),
        format!("onvif://www.onvif.org/hardware/{}", scope_text(model)),
    ];
    if !location.is_empty() {
        scopes.push(format!(
            "onvif://www.onvif.org/location/{}",
            scope_text(location)
        ));
    }
    scopes
}

/// A scope segment: URI-safe bytes kept, everything else percent-encoded (spaces too, as
/// scopes are separated by spaces in WS-Discovery).
fn scope_text(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub(crate) fn scopes(call: &mut Call) -> Result<String, Fault> {
    let info = call.camera.device_info();
    let items: String = scope_uris(&info.name, &info.location, &info.model)
        .iter()
        .map(|uri| {
            let def = if uri.contains("/name/") || uri.contains("/location/") {
                "Configurable"
            } else {
                "Fixed"
            };
            format!(
                "<tds:Scopes><tt:ScopeDef>{def}</tt:ScopeDef><tt:ScopeItem>{}</tt:ScopeItem>\
                 </tds:Scopes>",
                escape(uri)
            )
        })
        .collect();
    Ok(format!(
        "<tds:GetScopesResponse>{items}</tds:GetScopesResponse>"
    ))
}

pub(crate) fn users(call: &mut Call) -> Result<String, Fault> {
    let users: String = call
        .camera
        .users()
        .iter()
        .map(|user| {
            let level = match user.level {
                Level::Admin => "Administrator",
                Level::Operator => "Operator",
                Level::Viewer | Level::Anonymous => "User",
            };
            format!(
                "<tds:User><tt:Username>{}</tt:Username><tt:UserLevel>{level}</tt:UserLevel>\
                 </tds:User>",
                escape(&user.name)
            )
        })
        .collect();
    Ok(format!(
        "<tds:GetUsersResponse>{users}</tds:GetUsersResponse>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_the_camera_and_encode_spaces() {
        let scopes = scope_uris("Front door", "", "DCS-5020L");
        assert!(scopes.contains(&"onvif://www.onvif.org/name/Front%20door".to_owned()));
        assert!(scopes.contains(&"onvif://www.onvif.org/hardware/DCS-5020L".to_owned()));
        assert!(scopes.contains(&"onvif://www.onvif.org/Profile/Streaming".to_owned()));
        assert!(!scopes.iter().any(|s| s.contains("/location/")));
        let scopes = scope_uris("x", "Hall/2", "m");
        assert!(scopes.contains(&"onvif://www.onvif.org/location/Hall%2F2".to_owned()));
    }

    #[test]
    fn macs_are_lower_case_and_colon_separated() {
        assert_eq!(
            mac_text(&[0x02, 0xFF, 0x5C, 0x8A, 0x13, 0x18]),
            "02:ff:5c:8a:13:18"
        );
    }
}
