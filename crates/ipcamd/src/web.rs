//! The camera's own web page, embedded in the binary.
//!
//! Owners open the camera in a browser long before they set up an NVR, so the daemon serves
//! a page of its own at `/`: live view, pan-tilt pad and every setting. It is a plain client
//! of the spec's CGIs (see `web/app.js`), so nothing here knows about the camera; this module
//! only hands out the files under `web/`, compiled in so there is nothing to install, each
//! with its content type, a strong `ETag` computed at compile time and a `Cache-Control`
//! that makes browsers revalidate (a firmware update changes the page under the same URL,
//! and a `304` costs one small round trip).

/// One embedded file, ready to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Asset {
    /// The `Content-Type` header.
    pub(crate) content_type: &'static str,
    /// The file itself.
    pub(crate) body: &'static [u8],
    /// A strong entity tag, quoted, e.g. `"9f86d081884c7d65"`: a hash of `body`.
    pub(crate) etag: &'static str,
    /// The `Cache-Control` header.
    pub(crate) cache_control: &'static str,
}

impl Asset {
    /// Whether an `If-None-Match` header value names this asset's current version, so the
    /// answer can be `304 Not Modified` without a body. Handles lists and weak tags
    /// (RFC 9110 13.1.2 compares weakly for `If-None-Match`) and `*`.
    pub(crate) fn matches(&self, if_none_match: &str) -> bool {
        if_none_match
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == self.etag)
    }
}

/// Headers every asset response should also carry: the page loads nothing from elsewhere,
/// and the policy makes the browser enforce it (`blob:` images are the live view's frames).
pub(crate) const SECURITY_HEADERS: [(&str, &str); 3] = [
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
];

/// Revalidate on every use: the URLs carry no version, and the page is behind login.
const REVALIDATE: &str = "private, no-cache";

/// FNV-1a, 64 bits: enough to tell versions of a few files apart, and `const`.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `"` + 16 lowercase hex digits + `"`.
const fn quoted_hex(hash: u64) -> [u8; 18] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        out[1 + i] = DIGITS[((hash >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    out
}

/// Declares an embedded file with its compile-time entity tag.
macro_rules! embed {
    ($name:ident, $file:literal, $content_type:literal) => {
        const $name: Asset = {
            const BODY: &[u8] = include_bytes!(concat!("../web/", $file));
            const TAG: [u8; 18] = quoted_hex(fnv1a(BODY));
            Asset {
                content_type: $content_type,
                body: BODY,
                etag: match core::str::from_utf8(&TAG) {
                    Ok(tag) => tag,
                    Err(_) => panic!("hex digits are ASCII"),
                },
                cache_control: REVALIDATE,
            }
        };
    };
}

embed!(INDEX_HTML, "index.html", "text/html; charset=utf-8");
embed!(APP_JS, "app.js", "text/javascript; charset=utf-8");
embed!(MOTION_JS, "motion.js", "text/javascript; charset=utf-8");
embed!(STYLE_CSS, "style.css", "text/css; charset=utf-8");
embed!(ICON_SVG, "icon.svg", "image/svg+xml");

/// The embedded file served at `path` (as the request has it, without query), if any:
/// `/` and `/index.html` are the page, `/web/...` its assets.
pub(crate) fn asset(path: &str) -> Option<Asset> {
    match path {
        "/" | "/index.html" => Some(INDEX_HTML),
        "/web/app.js" => Some(APP_JS),
        "/web/motion.js" => Some(MOTION_JS),
        "/web/style.css" => Some(STYLE_CSS),
        "/web/icon.svg" => Some(ICON_SVG),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [&str; 6] = [
        "/",
        "/index.html",
        "/web/app.js",
        "/web/motion.js",
        "/web/style.css",
        "/web/icon.svg",
    ];

    /// The values of `attribute="..."` in `html`.
    fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
        let needle = format!(" {attribute}=\"");
        html.match_indices(&needle)
            .map(|(at, _)| {
                let rest = &html[at + needle.len()..];
                &rest[..rest.find('"').expect("closing quote")]
            })
            .collect()
    }

    #[test]
    fn the_page_is_served_at_the_root_and_as_index_html() {
        let root = asset("/").unwrap();
        assert_eq!(root, asset("/index.html").unwrap());
        assert_eq!(root.content_type, "text/html; charset=utf-8");
        assert!(root.body.starts_with(b"<!doctype html>"));
    }

    #[test]
    fn assets_have_the_content_types_browsers_require() {
        assert_eq!(
            asset("/web/app.js").unwrap().content_type,
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            asset("/web/style.css").unwrap().content_type,
            "text/css; charset=utf-8"
        );
        assert_eq!(
            asset("/web/icon.svg").unwrap().content_type,
            "image/svg+xml"
        );
    }

    #[test]
    fn other_paths_are_not_assets() {
        for path in [
            "",
            "/web/",
            "/web",
            "/app.js",
            "/web/../Cargo.toml",
            "/web/app.js/",
            "/WEB/APP.JS",
            "/index.htm",
            "/mjpeg.cgi",
        ] {
            assert_eq!(asset(path), None, "{path}");
        }
    }

    #[test]
    fn etags_are_quoted_hashes_that_differ_between_files() {
        let mut tags: Vec<&str> = ALL[1..].iter().map(|p| asset(p).unwrap().etag).collect();
        for tag in &tags {
            assert_eq!(tag.len(), 18, "{tag}");
            assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
            assert!(tag[1..17].bytes().all(|b| b.is_ascii_hexdigit()), "{tag}");
        }
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), ALL.len() - 1, "every file has its own tag");
    }

    #[test]
    fn the_hash_is_fnv1a() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(&quoted_hex(0x0123_4567_89ab_cdef), b"\"0123456789abcdef\"");
    }

    #[test]
    fn if_none_match_accepts_the_current_tag_in_any_form() {
        let app = asset("/web/app.js").unwrap();
        assert!(app.matches(app.etag));
        assert!(app.matches(&format!("W/{}", app.etag)));
        assert!(app.matches(&format!("\"0000000000000000\", {}", app.etag)));
        assert!(app.matches("*"));
        assert!(!app.matches("\"0000000000000000\""));
        assert!(!app.matches(asset("/web/style.css").unwrap().etag));
        assert!(!app.matches(""));
    }

    #[test]
    fn every_asset_revalidates() {
        for path in ALL {
            assert_eq!(asset(path).unwrap().cache_control, "private, no-cache");
        }
    }

    #[test]
    fn the_page_links_only_relative_urls_that_are_served() {
        // Relative URLs keep the page working on the second HTTP port and behind a prefix.
        let html = std::str::from_utf8(INDEX_HTML.body).unwrap();
        let links: Vec<&str> = attribute_values(html, "href")
            .into_iter()
            .chain(attribute_values(html, "src"))
            .filter(|link| !link.starts_with('#'))
            .collect();
        assert!(links.len() >= 3, "{links:?}");
        for link in links {
            assert!(!link.starts_with('/') && !link.contains(':'), "{link}");
            assert!(asset(&format!("/{link}")).is_some(), "{link} is not served");
        }
    }

    /// The lines of `script` that are code, not comments.
    fn code_lines(script: &str) -> impl Iterator<Item = &str> {
        script.lines().map(str::trim).filter(|line| {
            !(line.starts_with("//") || line.starts_with("/*") || line.starts_with('*'))
        })
    }

    /// Every script of the page; each is held to the same request and logging rules.
    fn scripts() -> impl Iterator<Item = &'static str> {
        [&APP_JS, &MOTION_JS]
            .into_iter()
            .map(|asset| std::str::from_utf8(asset.body).unwrap())
    }

    #[test]
    fn every_request_of_the_scripts_takes_its_url_from_api_url() {
        // Behind a proxy's sub-path, from an address with a login in it: only apiUrl()
        // resolves a URL the way every case needs (see app.js).
        let fetches: Vec<&str> = scripts()
            .flat_map(code_lines)
            .filter(|line| line.contains("fetch(") && !line.contains("apiFetch("))
            .collect();
        assert_eq!(
            fetches,
            ["return fetch(apiUrl(path), { cache: 'no-store', ...init, headers });"]
        );
        for line in scripts()
            .flat_map(code_lines)
            .filter(|line| line.contains(".src ="))
        {
            // An object URL of a frame already fetched, or a resource of the camera.
            assert!(
                line.ends_with(".src = url;") || line.contains(".src = apiUrl("),
                "{line}"
            );
        }
        for script in scripts() {
            for needle in ["XMLHttpRequest", "EventSource", "WebSocket", ".action ="] {
                assert!(!script.contains(needle), "{needle}");
            }
        }
    }

    #[test]
    fn the_scripts_never_log() {
        // A login typed into the address is in the page's memory: nothing may print it.
        assert!(scripts().all(|script| !script.contains("console.")));
    }

    #[test]
    fn the_style_sheet_has_no_absolute_urls() {
        let css = std::str::from_utf8(STYLE_CSS.body).unwrap();
        assert!(!css.contains("@import"));
        for (at, _) in css.match_indices("url(") {
            let target = css[at + 4..].trim_start_matches(['\'', '"']);
            assert!(
                target.starts_with("data:") || !(target.starts_with('/') || target.contains("://")),
                "{}",
                &css[at..]
            );
        }
    }

    /// The string literals of `script` that end in `suffix` (`'...x.cgi'` and the like).
    fn literals_ending<'a>(script: &'a str, suffix: &str) -> Vec<&'a str> {
        script
            .match_indices(suffix)
            .filter_map(|(at, _)| {
                let end = at + suffix.len();
                let quote = script[end..].chars().next()?;
                let open = script[..at].rfind(quote)?;
                ['\'', '`', '"']
                    .contains(&quote)
                    .then(|| &script[open + 1..end])
            })
            .collect()
    }

    #[test]
    fn the_script_uses_every_cgi_of_the_spec_by_relative_url() {
        let script = std::str::from_utf8(APP_JS.body).unwrap();
        assert!(!script.contains("http://") && !script.contains("https://"));
        let mut urls = literals_ending(script, ".cgi");
        urls.extend(literals_ending(script, ".jpg"));
        for url in &urls {
            assert!(
                !url.starts_with('/') && !url.contains(':'),
                "not a relative URL: {url}"
            );
        }
        for cgi in [
            "cgiversion.cgi",
            "isystem.cgi",
            "system.cgi",
            "datetime.cgi",
            "user.cgi",
            "userlist.cgi",
            "activeuser.cgi",
            "iimage.cgi",
            "image.cgi",
            "inetwork.cgi",
            "network.cgi",
            "iwireless.cgi",
            "wireless.cgi",
            "upload.cgi",
            "email.cgi",
            "reset.cgi",
            "image.jpg",
            "mjpeg.cgi",
            "iocontrol.cgi",
            "pantiltcontrol.cgi",
            "comport.cgi",
        ] {
            assert!(urls.contains(&cgi), "the page never calls {cgi}");
        }
    }
}
