//! A small UPnP Internet Gateway Device client: the router found by `M-SEARCH`, its
//! description read for the WANIPConnection or WANPPPConnection service, and SOAP calls
//! to it (`AddPortMapping`, `DeletePortMapping`, `GetExternalIPAddress`).
//!
//! Hand-written on std's `TcpStream` and the tree's `quick-xml` rather than `igd-next`:
//! that crate's HTTP client, XML tree, URL parser and random generator added 330 KB to the
//! stripped daemon (5.09 → 5.42 MB, over its 5.2 MB budget), for a feature that is off by
//! default. Every answer is bounded ([`MAX_ANSWER`]) and every socket has a timeout: the
//! router is on the LAN, but anyone on the LAN can answer a search.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use quick_xml::events::Event;
use quick_xml::Reader;

/// The largest description or SOAP answer read from a router.
pub const MAX_ANSWER: usize = 64 * 1024;
/// How long a connection or a read from the router may take.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// The device type searched for.
const IGD: &str = "urn:schemas-upnp-org:device:InternetGatewayDevice:1";
/// The services that map ports, in order of preference.
const WAN_SERVICES: [&str; 3] = [
    "urn:schemas-upnp-org:service:WANIPConnection:2",
    "urn:schemas-upnp-org:service:WANIPConnection:1",
    "urn:schemas-upnp-org:service:WANPPPConnection:1",
];

/// Why talking to the router failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// No Internet Gateway Device answered the search in time.
    #[error("no Internet Gateway Device answered")]
    NotFound,
    /// The network failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The router's answer is not what UPnP says.
    #[error("malformed answer from the router: {0}")]
    Malformed(String),
    /// The router answered a SOAP fault (e.g. 718 ConflictInMappingEntry).
    #[error("the router refused {action}: UPnP error {code} {description}")]
    Refused {
        /// The action called.
        action: &'static str,
        /// `errorCode` of the fault.
        code: u32,
        /// `errorDescription` of the fault.
        description: String,
    },
}

fn malformed(what: impl std::fmt::Display) -> GatewayError {
    GatewayError::Malformed(what.to_string())
}

/// `http://IP:PORT/path` split into the address and the path (routers name themselves by
/// address; a host name is refused rather than resolved).
fn split_url(url: &str) -> Result<(SocketAddr, String), GatewayError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| malformed(format!("not an http URL: {url}")))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |at| rest.split_at(at));
    let addr = match authority.parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(_) => SocketAddr::new(
            authority
                .parse::<IpAddr>()
                .map_err(|_| malformed(format!("not an IP address: {authority}")))?,
            80,
        ),
    };
    Ok((addr, path.to_owned()))
}

/// The router's WAN connection service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    /// Where its control URL is served.
    pub addr: SocketAddr,
    /// The control URL's path.
    pub control_path: String,
    /// The service type (SOAPAction and the envelope's namespace).
    pub service_type: String,
}

/// Searches for a router from `bind` (the camera's address, or unspecified) by sending
/// the search to `to` (the SSDP group, or a test router) and waiting up to `timeout` for
/// one whose description has a WAN connection service.
pub fn search(bind: IpAddr, to: SocketAddr, timeout: Duration) -> Result<Gateway, GatewayError> {
    let socket = UdpSocket::bind((bind, 0))?;
    let search = format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n\
         MX: 2\r\nST: {IGD}\r\n\r\n"
    );
    socket.send_to(search.as_bytes(), to)?;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 2048];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(GatewayError::NotFound);
        }
        socket.set_read_timeout(Some(left))?;
        let len = match socket.recv_from(&mut buf) {
            Ok((len, _)) => len,
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(GatewayError::NotFound)
            }
            Err(err) => return Err(err.into()),
        };
        let Some(location) = location_of(&buf[..len]) else {
            continue;
        };
        match describe(&location) {
            Ok(gateway) => return Ok(gateway),
            Err(err) => log::debug!("UPnP: {location} is no usable gateway: {err}"),
        }
    }
}

/// The `LOCATION` of a search answer.
fn location_of(datagram: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(datagram).ok()?;
    text.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("LOCATION")
            .then(|| value.trim().to_owned())
    })
}

/// Reads the description at `location` and finds its WAN connection service.
pub fn describe(location: &str) -> Result<Gateway, GatewayError> {
    let (addr, path) = split_url(location)?;
    let (status, body) = http(addr, "GET", &path, &[], "")?;
    if status != 200 {
        return Err(malformed(format!("HTTP {status} for {location}")));
    }
    let Description { url_base, services } = services_of(&body)?;
    let (service_type, control_url) = WAN_SERVICES
        .iter()
        .find_map(|wanted| services.iter().find(|(kind, _)| kind == wanted))
        .ok_or_else(|| malformed("no WANIPConnection or WANPPPConnection service"))?;
    let (addr, control_path) = if control_url.starts_with("http://") {
        split_url(control_url)?
    } else {
        let base = url_base.as_deref().map_or(Ok((addr, path)), split_url)?;
        let control_path = if control_url.starts_with('/') {
            control_url.clone()
        } else {
            // Relative to the directory of the base.
            let dir = base.1.rsplit_once('/').map_or("", |(dir, _)| dir);
            format!("{dir}/{control_url}")
        };
        (base.0, control_path)
    };
    Ok(Gateway {
        addr,
        control_path,
        service_type: service_type.clone(),
    })
}

/// What a router's device description says about where its services are.
#[derive(Debug, Default, PartialEq, Eq)]
struct Description {
    /// `URLBase`, which relative URLs are relative to (UDA 1.0; else the location).
    url_base: Option<String>,
    /// Every `(serviceType, controlURL)`, of every embedded device.
    services: Vec<(String, String)>,
}

/// Reads a device description.
fn services_of(xml: &str) -> Result<Description, GatewayError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let (mut url_base, mut services) = (None, Vec::new());
    let (mut current, mut kind, mut control) = (Vec::<u8>::new(), None, None);
    loop {
        match reader.read_event().map_err(malformed)? {
            Event::Start(start) => current = start.local_name().as_ref().to_vec(),
            Event::Text(text) => {
                let text = text.unescape().map_err(malformed)?.into_owned();
                match current.as_slice() {
                    b"URLBase" => url_base = Some(text),
                    b"serviceType" => kind = Some(text),
                    b"controlURL" => control = Some(text),
                    _ => {}
                }
            }
            Event::End(end) => {
                if end.local_name().as_ref() == b"service" {
                    if let (Some(kind), Some(control)) = (kind.take(), control.take()) {
                        services.push((kind, control));
                    }
                }
                current.clear();
            }
            Event::DocType(_) => return Err(malformed("a DOCTYPE in the description")),
            Event::Eof => return Ok(Description { url_base, services }),
            _ => {}
        }
    }
}

/// The text of the first element called `local` (any namespace prefix).
fn first_text(xml: &str, local: &str) -> Result<Option<String>, GatewayError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut inside = false;
    loop {
        match reader.read_event().map_err(malformed)? {
            Event::Start(start) => inside = start.local_name().as_ref() == local.as_bytes(),
            Event::Text(text) if inside => {
                return Ok(Some(text.unescape().map_err(malformed)?.into_owned()))
            }
            Event::End(_) => inside = false,
            Event::DocType(_) => return Err(malformed("a DOCTYPE in a SOAP answer")),
            Event::Eof => return Ok(None),
            _ => {}
        }
    }
}

impl Gateway {
    /// Maps TCP `port` of the router to `internal` for `lease` seconds.
    pub fn add_port_mapping(
        &self,
        port: u16,
        internal: SocketAddr,
        lease: u32,
        description: &str,
    ) -> Result<(), GatewayError> {
        let args = [
            ("NewRemoteHost", String::new()),
            ("NewExternalPort", port.to_string()),
            ("NewProtocol", "TCP".into()),
            ("NewInternalPort", internal.port().to_string()),
            ("NewInternalClient", internal.ip().to_string()),
            ("NewEnabled", "1".into()),
            ("NewPortMappingDescription", description.into()),
            ("NewLeaseDuration", lease.to_string()),
        ];
        self.call("AddPortMapping", &args).map(drop)
    }

    /// Removes the mapping of TCP `port`.
    pub fn delete_port_mapping(&self, port: u16) -> Result<(), GatewayError> {
        let args = [
            ("NewRemoteHost", String::new()),
            ("NewExternalPort", port.to_string()),
            ("NewProtocol", "TCP".into()),
        ];
        self.call("DeletePortMapping", &args).map(drop)
    }

    /// The router's address on the internet side.
    pub fn external_ip(&self) -> Result<IpAddr, GatewayError> {
        let answer = self.call("GetExternalIPAddress", &[])?;
        let text = first_text(&answer, "NewExternalIPAddress")?
            .ok_or_else(|| malformed("no NewExternalIPAddress"))?;
        text.trim()
            .parse()
            .map_err(|_| malformed(format!("not an IP address: {text}")))
    }

    /// One SOAP call; a fault comes back as [`GatewayError::Refused`].
    fn call(&self, action: &'static str, args: &[(&str, String)]) -> Result<String, GatewayError> {
        let text = |s: &str| quick_xml::escape::escape(s).into_owned();
        let args: String = args
            .iter()
            .map(|(name, value)| format!("<{name}>{}</{name}>", text(value)))
            .collect();
        let body = format!(
            "<?xml version=\"1.0\"?>\r\n<s:Envelope \
             xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
             s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>\
             <u:{action} xmlns:u=\"{}\">{args}</u:{action}></s:Body></s:Envelope>\r\n",
            self.service_type
        );
        let soap_action = format!("\"{}#{action}\"", self.service_type);
        let headers = [
            ("Content-Type", "text/xml; charset=\"utf-8\""),
            ("SOAPAction", soap_action.as_str()),
        ];
        let (status, answer) = http(self.addr, "POST", &self.control_path, &headers, &body)?;
        match status {
            200 => Ok(answer),
            _ => {
                let code = first_text(&answer, "errorCode")?.and_then(|c| c.trim().parse().ok());
                match code {
                    Some(code) => Err(GatewayError::Refused {
                        action,
                        code,
                        description: first_text(&answer, "errorDescription")?.unwrap_or_default(),
                    }),
                    None => Err(malformed(format!("HTTP {status} for {action}"))),
                }
            }
        }
    }
}

/// One HTTP/1.1 request (`Connection: close`) and its status and body, at most
/// [`MAX_ANSWER`] bytes, chunked or not.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String), GatewayError> {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER as u64 + 1)
        .read_to_end(&mut answer)?;
    if answer.len() > MAX_ANSWER {
        return Err(malformed(format!("an answer over {MAX_ANSWER} bytes")));
    }
    parse_answer(&answer)
}

/// The status and body of a whole HTTP answer.
fn parse_answer(answer: &[u8]) -> Result<(u16, String), GatewayError> {
    let text = std::str::from_utf8(answer).map_err(malformed)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| malformed("no end of the HTTP header"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_ascii_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| malformed("no HTTP status"))?;
    let chunked = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("Transfer-Encoding")
                && value.trim().eq_ignore_ascii_case("chunked")
        })
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

/// The data of a chunked body.
fn dechunk(mut body: &str) -> Result<String, GatewayError> {
    let mut data = String::new();
    loop {
        let (size, rest) = body
            .split_once("\r\n")
            .ok_or_else(|| malformed("a truncated chunk"))?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| malformed("a bad chunk size"))?;
        if size == 0 {
            return Ok(data);
        }
        let chunk = rest
            .get(..size)
            .ok_or_else(|| malformed("a truncated chunk"))?;
        data.push_str(chunk);
        body = rest[size..].strip_prefix("\r\n").unwrap_or(&rest[size..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The usual layout: IGD → WANDevice → WANConnectionDevice, absolute control paths,
    /// a Layer3Forwarding service first.
    const NESTED_IP: &str = r#"<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
<controlURL>/ctl/L3F</controlURL></service></serviceList>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>/ctl/IPConn</controlURL>
<eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL></service></serviceList>
</device></deviceList></device></deviceList></device></root>"#;

    /// A PPPoE router: only WANPPPConnection, relative control URL under a URLBase.
    const PPP_WITH_BASE: &str = r#"<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><URLBase>http://192.168.1.1:49000/</URLBase>
<device><deviceList><device><deviceList><device><serviceList><service>
<serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType>
<controlURL>upnp/control/WANPPPConn1</controlURL></service></serviceList>
</device></deviceList></device></deviceList></device></root>"#;

    #[test]
    fn the_wan_service_is_found_in_nested_devices() {
        let Description { url_base, services } = services_of(NESTED_IP).unwrap();
        assert_eq!(url_base, None);
        assert_eq!(
            services,
            [
                (
                    "urn:schemas-upnp-org:service:Layer3Forwarding:1".to_owned(),
                    "/ctl/L3F".to_owned()
                ),
                (
                    "urn:schemas-upnp-org:service:WANIPConnection:1".to_owned(),
                    "/ctl/IPConn".to_owned()
                ),
            ]
        );
        let Description { url_base, services } = services_of(PPP_WITH_BASE).unwrap();
        assert_eq!(url_base.as_deref(), Some("http://192.168.1.1:49000/"));
        assert_eq!(services[0].1, "upnp/control/WANPPPConn1");
    }

    #[test]
    fn a_description_with_a_doctype_is_refused() {
        let xml = "<!DOCTYPE root [<!ENTITY x \"y\">]><root/>";
        assert!(matches!(services_of(xml), Err(GatewayError::Malformed(_))));
    }

    #[test]
    fn urls_name_routers_by_address() {
        assert_eq!(
            split_url("http://192.168.1.1:5000/rootDesc.xml").unwrap(),
            ("192.168.1.1:5000".parse().unwrap(), "/rootDesc.xml".into())
        );
        assert_eq!(
            split_url("http://10.0.0.1").unwrap(),
            ("10.0.0.1:80".parse().unwrap(), "/".into())
        );
        assert!(split_url("http://router.lan/desc.xml").is_err());
        assert!(split_url("https://10.0.0.1/").is_err());
    }

    #[test]
    fn the_location_of_a_search_answer_is_read() {
        let answer = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n\
                       location: http://192.168.1.1:5000/rootDesc.xml\r\nST: x\r\n\r\n";
        assert_eq!(
            location_of(answer).as_deref(),
            Some("http://192.168.1.1:5000/rootDesc.xml")
        );
        assert_eq!(location_of(b"HTTP/1.1 200 OK\r\nST: x\r\n\r\n"), None);
    }

    #[test]
    fn a_soap_fault_names_its_upnp_error() {
        let fault = r#"<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
<faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>
<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>718</errorCode>
<errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail>
</s:Fault></s:Body></s:Envelope>"#;
        assert_eq!(
            first_text(fault, "errorCode").unwrap().as_deref(),
            Some("718")
        );
        assert_eq!(
            first_text(fault, "errorDescription").unwrap().as_deref(),
            Some("ConflictInMappingEntry")
        );
        let ok = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">
<NewExternalIPAddress>203.0.113.7</NewExternalIPAddress></u:GetExternalIPAddressResponse>
</s:Body></s:Envelope>"#;
        assert_eq!(
            first_text(ok, "NewExternalIPAddress").unwrap().as_deref(),
            Some("203.0.113.7")
        );
    }

    #[test]
    fn chunked_and_plain_answers_are_read() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(parse_answer(plain).unwrap(), (200, "hello".into()));
        let chunked = b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n\
                        3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n";
        assert_eq!(parse_answer(chunked).unwrap(), (500, "hello".into()));
        let truncated = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nhel";
        assert!(parse_answer(truncated).is_err());
        assert!(parse_answer(b"garbage").is_err());
    }

    #[test]
    fn a_relative_control_url_is_resolved_against_the_url_base() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).unwrap();
            let body = PPP_WITH_BASE;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).unwrap();
        });
        let gateway = describe(&format!("http://{addr}/igd.xml")).unwrap();
        server.join().unwrap();
        assert_eq!(
            gateway,
            Gateway {
                addr: "192.168.1.1:49000".parse().unwrap(),
                control_path: "/upnp/control/WANPPPConn1".into(),
                service_type: "urn:schemas-upnp-org:service:WANPPPConnection:1".into(),
            }
        );
    }
}
