//! The device description (UPnP Device Architecture 1.1, 2.3): the XML document the
//! `LOCATION` of every SSDP message points at. Windows' network view and UPnP scanners
//! fetch it, before any login, to name the device and offer a link to its page.
//!
//! It says only what a visitor of the login prompt learns anyway (the camera's name, the
//! model, where its page is); no serial number, because the MAC would identify the camera
//! across networks and the document may be reachable from the internet through a port
//! mapping.

use sha1::{Digest as _, Sha1};

/// The path the daemon serves the description at.
pub const DESCRIPTION_PATH: &str = "/upnp/device.xml";
/// `Content-Type` of the description.
pub const CONTENT_TYPE: &str = "text/xml; charset=\"utf-8\"";
/// The device type the camera announces: a device with no UPnP services, only a page.
pub const DEVICE_TYPE: &str = "urn:schemas-upnp-org:device:Basic:1";
/// Who made the camera's software, as the description and ONVIF say.
pub const MANUFACTURER: &str = "ipcam";

/// What the description says about the camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device<'a> {
    /// `friendlyName`: the camera's name (`CameraName` of `/system.cgi`).
    pub friendly_name: &'a str,
    /// `modelName`: the configured model.
    pub model: &'a str,
    /// The camera's UUID (without `uuid:`), see [`device_uuid`].
    pub uuid: &'a str,
    /// `presentationURL`: the absolute URL of the camera's page.
    pub presentation_url: &'a str,
}

impl Device<'_> {
    /// The description document.
    pub fn to_xml(&self) -> String {
        let text = |s: &str| quick_xml::escape::escape(s).into_owned();
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
             <root xmlns=\"urn:schemas-upnp-org:device-1-0\" configId=\"1\">\
             <specVersion><major>1</major><minor>1</minor></specVersion>\
             <device><deviceType>{DEVICE_TYPE}</deviceType>\
             <friendlyName>{}</friendlyName>\
             <manufacturer>{MANUFACTURER}</manufacturer>\
             <modelDescription>Network camera</modelDescription>\
             <modelName>{}</modelName>\
             <UDN>uuid:{}</UDN>\
             <presentationURL>{}</presentationURL></device></root>\n",
            text(self.friendly_name),
            text(self.model),
            text(self.uuid),
            text(self.presentation_url),
        )
    }
}

/// The camera's UUID: name-based (RFC 4122 version 5 layout) on the MAC and the main
/// HTTP port, so it stays the same across restarts and factory resets, differs from the
/// WS-Discovery endpoint's, and two cameras served from one host (one MAC) are two
/// devices.
pub fn device_uuid(mac: &[u8; 6], http_port: u16) -> String {
    let mut name = mac.to_vec();
    name.extend_from_slice(&http_port.to_be_bytes());
    name_based_uuid(b"ipcam-upnp device ", &name)
}

/// A name-based UUID (RFC 4122 version 5 layout: the first 16 bytes of SHA-1 over
/// `prefix` and `name`), the same for the same inputs on every start.
pub fn name_based_uuid(prefix: &[u8], name: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(prefix);
    sha.update(name);
    let hash = sha.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    uuid_text(bytes, 5)
}

/// A random (version 4) UUID, for a camera that has no MAC to derive one from.
pub fn random_uuid() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)?;
    Ok(uuid_text(bytes, 4))
}

/// The text form of `bytes` with the RFC 4122 variant and `version` set.
fn uuid_text(mut bytes: [u8; 16], version: u8) -> String {
    bytes[6] = (bytes[6] & 0x0f) | (version << 4);
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uuid_is_stable_per_mac_and_port_and_version_5() {
        let a = device_uuid(&[2, 0, 0, 0, 0, 1], 80);
        assert_eq!(a, device_uuid(&[2, 0, 0, 0, 0, 1], 80));
        assert_ne!(a, device_uuid(&[2, 0, 0, 0, 0, 2], 80));
        assert_ne!(a, device_uuid(&[2, 0, 0, 0, 0, 1], 8080));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "5");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn the_name_is_escaped() {
        let xml = Device {
            friendly_name: "Gate <1> & \"yard\"",
            model: "DCS-5300",
            uuid: "u",
            presentation_url: "http://192.0.2.9/",
        }
        .to_xml();
        assert!(xml.contains("<friendlyName>Gate &lt;1&gt; &amp; &quot;yard&quot;</friendlyName>"));
        assert!(xml.contains("<UDN>uuid:u</UDN>"));
        assert!(!xml.contains("serialNumber"));
    }
}
