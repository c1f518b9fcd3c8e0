//! SOAP 1.2 envelopes: what a request carries (the operation, the WS-Security
//! UsernameToken, the WS-Addressing MessageID) and the envelopes and faults sent back.
//!
//! Faults follow the ONVIF Core specification's generic faults: `env:Sender` with a
//! `ter:` subcode for anything the client got wrong (HTTP 400), `env:Receiver` with
//! `ter:ActionNotSupported` for operations this camera does not offer (HTTP 500 as SOAP
//! 1.2 over HTTP binds receiver faults), `env:VersionMismatch` for a SOAP 1.1 envelope.

use crate::xml::{self, escape, Element, XmlError};

/// SOAP 1.2 envelope namespace.
pub const NS_ENV: &str = "http://www.w3.org/2003/05/soap-envelope";
/// SOAP 1.1 envelope namespace (answered with a VersionMismatch fault).
const NS_ENV_11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// WS-Security extension namespace (UsernameToken).
const NS_WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// WS-Addressing 2004/08 (WS-Discovery uses it).
pub const NS_WSA: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// ONVIF device management.
pub const NS_TDS: &str = "http://www.onvif.org/ver10/device/wsdl";
/// ONVIF media (ver10).
pub const NS_TRT: &str = "http://www.onvif.org/ver10/media/wsdl";
/// ONVIF PTZ (ver20).
pub const NS_TPTZ: &str = "http://www.onvif.org/ver20/ptz/wsdl";
/// ONVIF schema types.
pub const NS_TT: &str = "http://www.onvif.org/ver10/schema";
/// ONVIF error codes.
pub const NS_TER: &str = "http://www.onvif.org/ver10/error";

/// The namespace declarations every response envelope carries.
const RESPONSE_NAMESPACES: &str = concat!(
    r#"xmlns:env="http://www.w3.org/2003/05/soap-envelope" "#,
    r#"xmlns:tt="http://www.onvif.org/ver10/schema" "#,
    r#"xmlns:tds="http://www.onvif.org/ver10/device/wsdl" "#,
    r#"xmlns:trt="http://www.onvif.org/ver10/media/wsdl" "#,
    r#"xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl" "#,
    r#"xmlns:ter="http://www.onvif.org/ver10/error""#
);

/// The `wsse:UsernameToken` of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsernameToken {
    /// `wsse:Username`.
    pub username: String,
    /// `wsse:Password`: the digest (Base64) or the password itself.
    pub password: String,
    /// Whether `Password/@Type` is `#PasswordDigest` (else `#PasswordText`).
    pub digest: bool,
    /// `wsse:Nonce`, Base64, if sent.
    pub nonce: Option<String>,
    /// `wsu:Created`, if sent.
    pub created: Option<String>,
}

/// A parsed request envelope.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The first element of the body: the operation and its arguments.
    pub operation: Element,
    /// The UsernameToken of the Security header, if any.
    pub token: Option<UsernameToken>,
    /// `wsa:MessageID`, if any.
    pub message_id: Option<String>,
}

/// Reads a SOAP 1.2 envelope.
pub fn parse_envelope(text: &str) -> Result<Envelope, Fault> {
    let root = xml::parse(text).map_err(|err| match err {
        XmlError::Doctype => Fault::sender("ter:WellFormed", "a DOCTYPE is not allowed"),
        err => Fault::sender("ter:WellFormed", &err.to_string()),
    })?;
    if root.is(NS_ENV_11, "Envelope") {
        return Err(Fault::version_mismatch());
    }
    if !root.is(NS_ENV, "Envelope") {
        return Err(Fault::sender(
            "ter:WellFormed",
            "the root element is not a SOAP 1.2 Envelope",
        ));
    }
    let header = root.children.iter().find(|c| c.is(NS_ENV, "Header"));
    let body = root
        .children
        .iter()
        .find(|c| c.is(NS_ENV, "Body"))
        .ok_or_else(|| Fault::sender("ter:WellFormed", "the envelope has no Body"))?;
    let operation = body
        .children
        .first()
        .cloned()
        .ok_or_else(|| Fault::sender("ter:WellFormed", "the Body is empty"))?;
    let token = header.and_then(username_token);
    let message_id = header
        .and_then(|h| h.children.iter().find(|c| c.is(NS_WSA, "MessageID")))
        .map(|id| id.text.clone());
    Ok(Envelope {
        operation,
        token,
        message_id,
    })
}

fn username_token(header: &Element) -> Option<UsernameToken> {
    let token = header
        .children
        .iter()
        .find(|c| c.is(NS_WSSE, "Security"))?
        .children
        .iter()
        .find(|c| c.is(NS_WSSE, "UsernameToken"))?;
    let password = token.child("Password");
    Some(UsernameToken {
        username: token.child_text("Username").unwrap_or_default().to_owned(),
        password: password.map(|p| p.text.clone()).unwrap_or_default(),
        digest: password
            .and_then(|p| p.attr("Type"))
            .is_some_and(|kind| kind.ends_with("#PasswordDigest")),
        nonce: token.child_text("Nonce").map(str::to_owned),
        created: token.child_text("Created").map(str::to_owned),
    })
}

/// A response body element wrapped in an envelope.
pub fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<env:Envelope {RESPONSE_NAMESPACES}>\
         <env:Body>{body}</env:Body></env:Envelope>"
    )
}

/// A SOAP 1.2 fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// `env:Sender`, `env:Receiver` or `env:VersionMismatch`.
    pub code: &'static str,
    /// `ter:` subcodes, outermost first.
    pub subcodes: Vec<&'static str>,
    /// The one-line reason.
    pub reason: String,
}

impl Fault {
    /// The client got something wrong.
    pub fn sender(subcode: &'static str, reason: &str) -> Fault {
        Fault {
            code: "env:Sender",
            subcodes: vec![subcode],
            reason: reason.to_owned(),
        }
    }

    /// A wrong argument: `ter:InvalidArgVal` with the specific ONVIF subcode.
    pub fn invalid_arg(detail: &'static str, reason: &str) -> Fault {
        Fault {
            code: "env:Sender",
            subcodes: vec!["ter:InvalidArgVal", detail],
            reason: reason.to_owned(),
        }
    }

    /// A missing or malformed argument: `ter:InvalidArgs`.
    pub fn invalid_args(reason: &str) -> Fault {
        Fault {
            code: "env:Sender",
            subcodes: vec!["ter:InvalidArgs"],
            reason: reason.to_owned(),
        }
    }

    /// Not logged in, or not allowed.
    pub fn not_authorized() -> Fault {
        Fault::sender(
            "ter:NotAuthorized",
            "Sender not Authorized: the operation needs a login with more rights",
        )
    }

    /// An operation this camera does not offer.
    pub fn action_not_supported(operation: &str) -> Fault {
        Fault {
            code: "env:Receiver",
            subcodes: vec!["ter:ActionNotSupported"],
            reason: format!("{operation} is not supported"),
        }
    }

    /// The camera failed to carry out a valid request.
    pub fn receiver(subcode: &'static str, reason: &str) -> Fault {
        Fault {
            code: "env:Receiver",
            subcodes: vec![subcode],
            reason: reason.to_owned(),
        }
    }

    fn version_mismatch() -> Fault {
        Fault {
            code: "env:VersionMismatch",
            subcodes: Vec::new(),
            reason: "only SOAP 1.2 envelopes are accepted".into(),
        }
    }

    /// The HTTP status of this fault (SOAP 1.2 HTTP binding).
    pub fn http_status(&self) -> u16 {
        if self.code == "env:Sender" {
            400
        } else {
            500
        }
    }

    /// The fault as a whole envelope.
    pub fn render(&self) -> String {
        let mut code = format!("<env:Code><env:Value>{}</env:Value>", self.code);
        let mut closing = String::from("</env:Code>");
        for subcode in &self.subcodes {
            code.push_str(&format!("<env:Subcode><env:Value>{subcode}</env:Value>"));
            closing.insert_str(0, "</env:Subcode>");
        }
        envelope(&format!(
            "<env:Fault>{code}{closing}<env:Reason><env:Text xml:lang=\"en\">{}</env:Text>\
             </env:Reason></env:Fault>",
            escape(&self.reason)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">
      <s:Header>
        <Security s:mustUnderstand="1" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
          <UsernameToken>
            <Username>admin</Username>
            <Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">tuOSpGlFlIXsozq4HFNeeGeFLEI=</Password>
            <Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">LKqI6G/AikKCQrN0zqZFlg==</Nonce>
            <Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">2010-09-16T07:50:45Z</Created>
          </UsernameToken>
        </Security>
      </s:Header>
      <s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body>
    </s:Envelope>"#;

    #[test]
    fn the_operation_and_the_token_are_read() {
        let envelope = parse_envelope(REQUEST).unwrap();
        assert!(envelope.operation.is(NS_TDS, "GetDeviceInformation"));
        let token = envelope.token.unwrap();
        assert_eq!(token.username, "admin");
        assert!(token.digest);
        assert_eq!(token.nonce.as_deref(), Some("LKqI6G/AikKCQrN0zqZFlg=="));
        assert_eq!(token.created.as_deref(), Some("2010-09-16T07:50:45Z"));
    }

    #[test]
    fn wrong_envelopes_are_sender_faults() {
        let soap11 = r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>"#;
        assert_eq!(
            parse_envelope(soap11).unwrap_err().code,
            "env:VersionMismatch"
        );
        for bad in [
            "hello",
            "<Envelope/>",
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>"#,
        ] {
            let fault = parse_envelope(bad).unwrap_err();
            assert_eq!(
                (fault.code, fault.http_status()),
                ("env:Sender", 400),
                "{bad}"
            );
        }
    }

    #[test]
    fn faults_nest_their_subcodes_and_escape_the_reason() {
        let text = Fault::invalid_arg("ter:NoProfile", "no <profile>").render();
        assert!(text.contains(
            "<env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:InvalidArgVal\
             </env:Value><env:Subcode><env:Value>ter:NoProfile</env:Value></env:Subcode>\
             </env:Subcode></env:Code>"
        ));
        assert!(text.contains("no &lt;profile&gt;"));
        let parsed = xml::parse(&text).unwrap();
        assert!(parsed.path(&["Body", "Fault", "Reason", "Text"]).is_some());
    }
}
