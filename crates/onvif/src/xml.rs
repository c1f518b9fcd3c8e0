//! A small, bounded XML tree: what a SOAP request is read into before anything looks at it.
//!
//! SOAP messages to a camera are a few kilobytes, so the whole envelope is read into a
//! tree of [`Element`]s with namespaces resolved. The reader is the `quick-xml` pull
//! parser, which never expands DTD entities; on top of that a document that carries a
//! DOCTYPE at all is refused (SOAP forbids DTDs, and refusing them means an "XML bomb" of
//! nested entity declarations is never even looked at), as is any reference to an entity
//! other than the five predefined ones. Depth and element count are capped, so a hostile
//! document costs at most its own size (the HTTP server caps that at its body limit).

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// Deepest nesting accepted; ONVIF requests are a dozen levels deep at most.
const MAX_DEPTH: usize = 32;
/// Most elements accepted in one document.
const MAX_ELEMENTS: usize = 4096;

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The document declares a DTD (and with it, possibly, entities).
    #[error("a DOCTYPE is not allowed in a SOAP message")]
    Doctype,
    /// Not well-formed, an unknown entity or prefix, or not UTF-8.
    #[error("not well-formed XML: {0}")]
    Malformed(String),
    /// Nested deeper than 32 levels or more than 4096 elements.
    #[error("the document is nested too deeply or has too many elements")]
    TooLarge,
    /// No root element.
    #[error("the document is empty")]
    Empty,
}

/// One element, its namespace resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Namespace URI, empty when unqualified.
    pub ns: String,
    /// Local name.
    pub name: String,
    /// Attributes by local name (namespace declarations left out).
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// The text directly inside, concatenated and trimmed.
    pub text: String,
}

impl Element {
    /// The first child called `name`, whatever its namespace: ONVIF clients differ in
    /// which prefix they bind, and the operation's own namespace is checked already.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    /// Follows a path of child names.
    pub fn path(&self, names: &[&str]) -> Option<&Element> {
        names
            .iter()
            .try_fold(self, |element, name| element.child(name))
    }

    /// The text of the child called `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|child| child.text.as_str())
    }

    /// The value of the attribute with local name `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether this is `{ns}name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }
}

/// Parses a whole document into its root element.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut elements = 0usize;
    loop {
        let (resolved, event) = reader.read_resolved_event().map_err(malformed)?;
        match event {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Start(start) => {
                elements += 1;
                if stack.len() >= MAX_DEPTH || elements > MAX_ELEMENTS {
                    return Err(XmlError::TooLarge);
                }
                let ns = namespace(resolved)?;
                stack.push(open(&reader, ns, &start)?);
            }
            Event::End(_) => {
                let mut done = stack.pop().ok_or(XmlError::Empty)?;
                done.text = done.text.trim().to_owned();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return finish(&mut reader, done),
                }
            }
            Event::Text(text) => {
                let text = text.unescape().map_err(malformed)?;
                match stack.last_mut() {
                    Some(element) => element.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(XmlError::Malformed("text outside the root".into())),
                }
            }
            Event::CData(data) => {
                let data = std::str::from_utf8(&data).map_err(malformed)?;
                if let Some(element) = stack.last_mut() {
                    element.text.push_str(data);
                }
            }
            Event::Eof => return Err(XmlError::Empty),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::Empty(_) => {}
        }
    }
}

/// After the root closes only whitespace, comments and processing instructions may follow.
fn finish(reader: &mut NsReader<&[u8]>, root: Element) -> Result<Element, XmlError> {
    loop {
        match reader.read_event().map_err(malformed)? {
            Event::Eof => return Ok(root),
            Event::Text(text) if text.iter().all(u8::is_ascii_whitespace) => {}
            Event::Comment(_) | Event::PI(_) => {}
            Event::DocType(_) => return Err(XmlError::Doctype),
            _ => return Err(XmlError::Malformed("content after the root element".into())),
        }
    }
}

fn open(reader: &NsReader<&[u8]>, ns: String, start: &BytesStart) -> Result<Element, XmlError> {
    let name = utf8(start.local_name().as_ref())?;
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr: Attribute = attr.map_err(malformed)?;
        let key = attr.key;
        if key.as_namespace_binding().is_some() {
            continue;
        }
        // Resolving checks the prefix is bound; the value is unescaped like text.
        let (_, local) = reader.resolve_attribute(key);
        let value = attr.unescape_value().map_err(malformed)?;
        attrs.push((utf8(local.as_ref())?, value.into_owned()));
    }
    Ok(Element {
        ns,
        name,
        attrs,
        ..Element::default()
    })
}

fn namespace(resolved: ResolveResult) -> Result<String, XmlError> {
    match resolved {
        ResolveResult::Bound(ns) => utf8(ns.as_ref()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(prefix) => Err(XmlError::Malformed(format!(
            "unbound prefix {}",
            String::from_utf8_lossy(&prefix)
        ))),
    }
}

fn utf8(bytes: &[u8]) -> Result<String, XmlError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(malformed)
}

fn malformed(err: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(err.to_string())
}

/// Escapes text for an element body or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_resolved_whatever_the_prefix() {
        let root = parse(
            r#"<?xml version="1.0"?><a:Root xmlns:a="urn:a" xmlns="urn:d" x="1">
                 <Child b="&lt;2&gt;">t&amp;u</Child><a:Empty/></a:Root>"#,
        )
        .unwrap();
        assert!(root.is("urn:a", "Root"));
        assert_eq!(root.attr("x"), Some("1"));
        let child = root.child("Child").unwrap();
        assert_eq!((child.ns.as_str(), child.text.as_str()), ("urn:d", "t&u"));
        assert_eq!(child.attr("b"), Some("<2>"));
        assert!(root.child("Empty").unwrap().is("urn:a", "Empty"));
    }

    #[test]
    fn a_doctype_is_refused_before_any_entity_is_read() {
        let bomb = r#"<?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
            <lolz>&lol2;</lolz>"#;
        assert_eq!(parse(bomb), Err(XmlError::Doctype));
    }

    #[test]
    fn undeclared_entities_and_prefixes_are_malformed() {
        assert!(matches!(parse("<a>&ext;</a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse("<p:a/>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse("<a><b></a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse("<a/><b/>"), Err(XmlError::Malformed(_))));
        assert_eq!(parse("   "), Err(XmlError::Empty));
        assert!(parse("not xml at all").is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(&deep), Err(XmlError::TooLarge));
        let wide = format!("<a>{}</a>", "<b/>".repeat(MAX_ELEMENTS));
        assert_eq!(parse(&wide), Err(XmlError::TooLarge));
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
    }
}
