//! Reading what an FTP server says: replies on the control connection (RFC 959 §4.2) and
//! the data ports in the `227`/`229` replies (RFC 959 §4.1.2 `PASV`, RFC 1123 §4.1.2.6,
//! RFC 2428 §3 `EPSV`).
//!
//! Everything here reads from the network, so every line and every reply is bounded
//! ([`MAX_LINE`], [`MAX_REPLY_LINES`]): a hostile or broken server gets an error, never an
//! allocation it controls, and no input makes it panic.

use std::fmt;
use std::io::{self, BufRead, Read};

use super::error::FtpError;

/// Longest line read from the server, line break included. RFC 959 sets no limit; a
/// reply line or a listing entry (a file name of at most 255 bytes plus its facts) that
/// long is not a real server's.
pub const MAX_LINE: usize = 2048;
/// Most lines in one reply. Long `220` banners and `FEAT` lists stay well below.
pub const MAX_REPLY_LINES: usize = 256;

/// One reply of the server: its code and the text of each line, the first and last
/// without their code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code.
    pub code: u16,
    /// The text of each line: for a multi-line reply the first line's text after
    /// `123-`, the lines in between as sent, and the last line's text after `123 `.
    pub lines: Vec<String>,
}

impl Reply {
    /// `1yz`: the command started; another reply follows (RFC 959 §4.2.1).
    pub fn is_preliminary(&self) -> bool {
        self.code / 100 == 1
    }

    /// `2yz`: the command succeeded.
    pub fn is_completion(&self) -> bool {
        self.code / 100 == 2
    }

    /// `3yz`: the command was accepted and waits for the next one (`PASS`, `RNTO`).
    pub fn is_intermediate(&self) -> bool {
        self.code / 100 == 3
    }

    /// The text of all lines as one line.
    pub fn text(&self) -> String {
        let words: Vec<&str> = self
            .lines
            .iter()
            .map(|line| line.trim())
            .filter(|line| !line.is_empty())
            .collect();
        words.join(" ")
    }
}

/// `550 No such file`: the reply in one line, control characters made spaces, so that it
/// can go into a log line or an error message as it is.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text().replace(char::is_control, " ");
        if text.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{} {text}", self.code)
        }
    }
}

/// Reads one reply (RFC 959 §4.2): `123 text`, or `123-text` followed by any lines up to
/// the first one that starts with the same code and a space. A line of the bare code is
/// taken as a reply without text, and a bare line feed as the end of a line, since servers
/// in the wild send both.
pub fn read_reply(reader: &mut impl BufRead) -> Result<Reply, FtpError> {
    let mut buffer = Vec::new();
    let first = read_line(reader, &mut buffer)?;
    let (code, rest) = parse_code(first)?;
    let mut lines = vec![rest.get(1..).unwrap_or_default().to_owned()];
    if !rest.starts_with('-') {
        return Ok(Reply { code, lines });
    }
    let prefix = format!("{code:03}");
    loop {
        if lines.len() == MAX_REPLY_LINES {
            return Err(FtpError::Oversized("reply lines"));
        }
        let line = read_line(reader, &mut buffer)?;
        if let Some(last) = line.strip_prefix(&prefix).filter(|text| ends_reply(text)) {
            lines.push(last.get(1..).unwrap_or_default().to_owned());
            return Ok(Reply { code, lines });
        }
        lines.push(line.to_owned());
    }
}

/// Whether the text after a line's code makes it the last line: a space, or nothing.
fn ends_reply(after_code: &str) -> bool {
    after_code.is_empty() || after_code.starts_with(' ')
}

/// The reply code of a first line and the text after it (starting with ` ` or `-`, or
/// empty). The first digit is 1 to 5, the reply classes of RFC 959 §4.2.1.
fn parse_code(line: &str) -> Result<(u16, &str), FtpError> {
    let malformed = || FtpError::Malformed(excerpt(line));
    let digits = line.get(..3).ok_or_else(malformed)?;
    let rest = &line[3..];
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.as_bytes()[0], b'1'..=b'5') {
        return Err(malformed());
    }
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('-')) {
        return Err(malformed());
    }
    let code = digits.parse().map_err(|_| malformed())?;
    Ok((code, rest))
}

/// Reads one line of at most [`MAX_LINE`] bytes into `buffer` and returns it without its
/// line break, bytes that are not UTF-8 replaced. End of stream in the middle of a line
/// or before it is an error: a reply always ends with a line break.
fn read_line<'b>(reader: &mut impl BufRead, buffer: &'b mut Vec<u8>) -> Result<&'b str, FtpError> {
    match read_bounded_line(reader, buffer)? {
        true => Ok(line_text(buffer)),
        false => Err(FtpError::Connection(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ))),
    }
}

/// Reads one line of a listing on the data connection into `buffer`; `false` at the end of
/// the stream. A last line without a line break is still a line.
pub fn read_data_line(reader: &mut impl BufRead, buffer: &mut Vec<u8>) -> Result<bool, FtpError> {
    buffer.clear();
    let read = reader
        .by_ref()
        .take(MAX_LINE as u64)
        .read_until(b'\n', buffer)?;
    if buffer.len() == MAX_LINE && !buffer.ends_with(b"\n") {
        return Err(FtpError::Oversized("listing line"));
    }
    Ok(read > 0)
}

/// A line read by [`read_data_line`] as text, without its line break.
pub fn line_text(buffer: &mut Vec<u8>) -> &str {
    while buffer.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
        buffer.pop();
    }
    if std::str::from_utf8(buffer).is_err() {
        *buffer = String::from_utf8_lossy(buffer).into_owned().into_bytes();
    }
    std::str::from_utf8(buffer).unwrap_or_default()
}

/// Reads a complete reply line; `false` when the stream ended before its line break.
fn read_bounded_line(reader: &mut impl BufRead, buffer: &mut Vec<u8>) -> Result<bool, FtpError> {
    read_data_line(reader, buffer).map_err(|e| match e {
        FtpError::Oversized(_) => FtpError::Oversized("reply line"),
        other => other,
    })?;
    Ok(buffer.ends_with(b"\n"))
}

/// The start of an unreadable line, for an error message: at most 60 characters, control
/// characters escaped.
fn excerpt(line: &str) -> String {
    let mut excerpt: String = line.chars().take(60).flat_map(char::escape_debug).collect();
    if line.chars().nth(60).is_some() {
        excerpt.push('…');
    }
    excerpt
}

/// The port of a `227` reply to `PASV`. RFC 959 §4.1.2 gives the address as
/// `h1,h2,h3,h4,p1,p2`; RFC 1123 §4.1.2.6 says the text around it varies (with or without
/// parentheses), so the numbers are the first run of digits and commas in the text.
/// Only the port is returned: the data connection goes to the control connection's peer,
/// whatever address the reply names (see [`super::control`]).
pub fn passive_port(reply: &Reply) -> Option<u16> {
    let text = reply.lines.first()?;
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let numbers = &text[start..];
    let end = numbers
        .find(|c: char| !(c.is_ascii_digit() || c == ','))
        .unwrap_or(numbers.len());
    let fields: Vec<u8> = numbers[..end]
        .split(',')
        .map(|field| field.parse::<u8>().ok())
        .collect::<Option<_>>()?;
    let [_, _, _, _, high, low] = fields[..] else {
        return None;
    };
    nonzero_port(u16::from_be_bytes([high, low]))
}

/// The port of a `229` reply to `EPSV` (RFC 2428 §3): `(<d><d><d><port><d>)`, where `<d>`
/// is one delimiter character from `!` to `~`, usually `|`.
pub fn extended_passive_port(reply: &Reply) -> Option<u16> {
    let text = reply.lines.first()?;
    let inside = &text[text.find('(')? + 1..];
    let delimiter = inside.chars().next().filter(|d| ('!'..='~').contains(d))?;
    let opening: String = [delimiter; 3].iter().collect();
    let inside = inside.strip_prefix(opening.as_str())?;
    let end = inside.find(delimiter)?;
    if !inside[end + delimiter.len_utf8()..].starts_with(')') {
        return None;
    }
    let port = &inside[..end];
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    nonzero_port(port.parse().ok()?)
}

fn nonzero_port(port: u16) -> Option<u16> {
    (port != 0).then_some(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &str) -> Result<Reply, FtpError> {
        read_reply(&mut input.as_bytes())
    }

    fn reply(code: u16, line: &str) -> Reply {
        Reply {
            code,
            lines: vec![line.to_owned()],
        }
    }

    #[test]
    fn a_single_line_reply_is_its_code_and_text() {
        let reply = read("220 Service ready for new user.\r\n").expect("reply");
        assert_eq!(reply.code, 220);
        assert_eq!(reply.lines, ["Service ready for new user."]);
        assert!(reply.is_completion());
        assert_eq!(reply.to_string(), "220 Service ready for new user.");
    }

    #[test]
    fn the_example_multi_line_reply_of_rfc_959_reads_as_one_reply() {
        // RFC 959 §4.2, with the padded line in the middle that begins with digits.
        let input = "123-First line\r\n\
                     Second line\r\n  \
                     234 A line beginning with numbers\r\n\
                     123 The last line\r\n\
                     200 next reply\r\n";
        let mut stream = input.as_bytes();
        let reply = read_reply(&mut stream).expect("reply");
        assert_eq!(reply.code, 123);
        assert_eq!(
            reply.lines,
            [
                "First line",
                "Second line",
                "  234 A line beginning with numbers",
                "The last line"
            ]
        );
        assert!(reply.is_preliminary());
        assert_eq!(read_reply(&mut stream).expect("next reply").code, 200);
    }

    #[test]
    fn a_multi_line_reply_ends_only_at_its_own_code_and_a_space() {
        // RFC 2389 §3.2: the FEAT reply, features indented by one space.
        let input = "211-Extensions supported:\r\n \
                     MLST size*;modify*;\r\n\
                     211-not the end either\r\n\
                     226 another code is text\r\n\
                     211 END\r\n";
        let reply = read(input).expect("reply");
        assert_eq!(reply.code, 211);
        assert_eq!(reply.lines.len(), 5);
        assert_eq!(reply.lines[1], " MLST size*;modify*;");
        assert_eq!(
            reply.to_string(),
            "211 Extensions supported: MLST size*;modify*; 211-not the end either \
             226 another code is text END"
        );
    }

    #[test]
    fn a_bare_line_feed_and_a_bare_code_are_taken() {
        assert_eq!(read("250 Okay\n").expect("reply"), reply(250, "Okay"));
        assert_eq!(read("230\r\n").expect("reply"), reply(230, ""));
        assert_eq!(read("230\r\n").expect("reply").to_string(), "230");
        let multi = read("250-start\n250\n").expect("reply");
        assert_eq!(multi.lines, ["start", ""]);
    }

    #[test]
    fn lines_that_are_not_replies_are_malformed() {
        for input in [
            "\r\n",
            "22\r\n",
            "abc text\r\n",
            "2x0 text\r\n",
            "600 beyond the five reply classes\r\n",
            "020 text\r\n",
            "2200 four digits\r\n",
            "220text without a space\r\n",
            "é20 x\r\n",
        ] {
            assert!(
                matches!(read(input), Err(FtpError::Malformed(_))),
                "{input:?}: {:?}",
                read(input)
            );
        }
    }

    #[test]
    fn a_malformed_line_is_quoted_in_one_line_and_short() {
        let long = format!("SSH-2.0-OpenSSH_9.2\t{}\r\n", "x".repeat(500));
        let err = read(&long).expect_err("not FTP");
        let message = err.to_string();
        assert!(message.contains("SSH-2.0-OpenSSH_9.2\\tx"), "{message}");
        assert!(!message.contains(['\r', '\n']), "{message}");
        assert!(message.len() < 120, "{message}");
    }

    #[test]
    fn an_end_of_stream_inside_a_reply_is_a_closed_connection() {
        for input in ["", "220 no line break", "211-first\r\n middle\r\n"] {
            match read(input) {
                Err(FtpError::Connection(e)) => {
                    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{input:?}")
                }
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn oversized_lines_and_endless_replies_are_refused() {
        let long_line = format!("220 {}\r\n", "x".repeat(MAX_LINE));
        assert!(matches!(read(&long_line), Err(FtpError::Oversized(_))));
        let just_fits = format!("220 {}\r\n", "x".repeat(MAX_LINE - 6));
        assert_eq!(read(&just_fits).expect("fits").lines[0].len(), MAX_LINE - 6);

        let endless = format!("220-banner\r\n{}", " more\r\n".repeat(MAX_REPLY_LINES));
        assert!(matches!(read(&endless), Err(FtpError::Oversized(_))));
        let longest = format!(
            "220-banner\r\n{}220 end\r\n",
            " more\r\n".repeat(MAX_REPLY_LINES - 2)
        );
        assert_eq!(read(&longest).expect("fits").lines.len(), MAX_REPLY_LINES);
    }

    #[test]
    fn text_that_is_not_utf8_is_kept_readable() {
        let reply = read_reply(&mut &b"550 caf\xe9 not found\r\n"[..]).expect("reply");
        assert_eq!(reply.to_string(), "550 caf\u{fffd} not found");
    }

    #[test]
    fn control_characters_in_reply_text_do_not_break_the_line() {
        let reply = read("550 bad\tname\x1b[2J\r\n").expect("reply");
        assert_eq!(reply.to_string(), "550 bad name [2J");
    }

    #[test]
    fn pasv_ports_are_read_with_and_without_parentheses() {
        // RFC 959 §4.1.2: h1,h2,h3,h4,p1,p2; port = p1 * 256 + p2.
        for text in [
            "Entering Passive Mode (192,168,1,2,4,1).",
            "Entering Passive Mode (192,168,1,2,4,1)",
            "Entering Passive Mode 192,168,1,2,4,1",
            "=192,168,1,2,4,1",
            "192,168,1,2,4,1",
        ] {
            assert_eq!(passive_port(&reply(227, text)), Some(1025), "{text}");
        }
        assert_eq!(
            passive_port(&reply(227, "Entering Passive Mode (10,0,0,1,255,255)")),
            Some(65535)
        );
    }

    #[test]
    fn broken_pasv_replies_give_no_port() {
        for text in [
            "Entering Passive Mode",
            "Entering Passive Mode (192,168,1,2,4)",
            "Entering Passive Mode (192,168,1,2,4,1,7)",
            "Entering Passive Mode (192,168,1,256,4,1)",
            "Entering Passive Mode (192,168,1,2,4,)",
            "Entering Passive Mode (192,168,1,2,0,0)",
            "Entering Passive Mode (99999999999999999999,1,1,1,1,1)",
        ] {
            assert_eq!(passive_port(&reply(227, text)), None, "{text}");
        }
        let empty = Reply {
            code: 227,
            lines: Vec::new(),
        };
        assert_eq!(passive_port(&empty), None);
    }

    #[test]
    fn epsv_ports_are_read_with_any_delimiter() {
        // RFC 2428 §3: "229 Entering Extended Passive Mode (|||6446|)".
        for text in [
            "Entering Extended Passive Mode (|||6446|)",
            "Entering Extended Passive Mode (!!!6446!)",
            "(~~~6446~)",
        ] {
            assert_eq!(
                extended_passive_port(&reply(229, text)),
                Some(6446),
                "{text}"
            );
        }
    }

    #[test]
    fn broken_epsv_replies_give_no_port() {
        for text in [
            "Entering Extended Passive Mode",
            "Entering Extended Passive Mode (|||6446)",
            "Entering Extended Passive Mode (||6446|)",
            "Entering Extended Passive Mode (|||6446|",
            "Entering Extended Passive Mode (|||65536|)",
            "Entering Extended Passive Mode (|||0|)",
            "Entering Extended Passive Mode (||||)",
            "Entering Extended Passive Mode (|||+80|)",
            "Entering Extended Passive Mode (   80 )",
            "Entering Extended Passive Mode (ééé80é)",
            "Entering Extended Passive Mode (",
        ] {
            assert_eq!(extended_passive_port(&reply(229, text)), None, "{text}");
        }
    }

    #[test]
    fn listing_lines_are_bounded_and_the_last_may_lack_a_line_break() {
        let input = format!("a.jpg\r\nb.jpg\n{}", "c".repeat(10));
        let mut stream = input.as_bytes();
        let mut buffer = Vec::new();
        let mut names = Vec::new();
        while read_data_line(&mut stream, &mut buffer).expect("line") {
            names.push(line_text(&mut buffer).to_owned());
        }
        assert_eq!(names, ["a.jpg", "b.jpg", "cccccccccc"]);

        let long = "x".repeat(MAX_LINE + 1);
        assert!(matches!(
            read_data_line(&mut long.as_bytes(), &mut buffer),
            Err(FtpError::Oversized(_))
        ));
    }
}
