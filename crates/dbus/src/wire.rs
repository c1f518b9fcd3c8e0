//! The D-Bus wire format: messages as bytes and back (D-Bus Specification, "Marshaling
//! (Wire Format)" and "Message Format").
//!
//! Messages are written little-endian with only the basic types the calls need
//! ([`Arg`]). Messages are read in either byte order and with any signature ([`Value`]),
//! so an unexpected reply is an error the caller can name, never a panic: every length is
//! checked against the bytes present, padding must be zero, booleans 0 or 1, strings
//! UTF-8 without NUL, nesting and the number of values are bounded.

use crate::Error;

/// Largest message accepted or sent, header and body (the specification allows 128 MiB;
/// systemd's answers to these calls are a few hundred bytes).
pub const MAX_MESSAGE: usize = 1 << 20;

/// Deepest nesting of containers in a value (the specification's 32 arrays + 32 structs).
const MAX_DEPTH: usize = 64;

/// Most values one message may hold, so that 1 MiB of one-byte array elements cannot
/// become 32 MiB of [`Value`]s.
const MAX_VALUES: usize = 1 << 16;

/// Length of the fixed part of the header plus the header fields' array length.
pub const FIXED_HEADER: usize = 16;

/// Message types ("Message Types").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `METHOD_CALL` (1).
    MethodCall,
    /// `METHOD_RETURN` (2).
    MethodReturn,
    /// `ERROR` (3).
    Error,
    /// `SIGNAL` (4).
    Signal,
    /// A type this client does not know; the specification says to ignore it.
    Unknown(u8),
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Kind::MethodCall => 1,
            Kind::MethodReturn => 2,
            Kind::Error => 3,
            Kind::Signal => 4,
            Kind::Unknown(code) => code,
        }
    }

    fn from_code(code: u8) -> Kind {
        match code {
            1 => Kind::MethodCall,
            2 => Kind::MethodReturn,
            3 => Kind::Error,
            4 => Kind::Signal,
            other => Kind::Unknown(other),
        }
    }
}

/// Header field codes ("Header Fields").
pub mod field {
    /// `PATH`, an object path.
    pub const PATH: u8 = 1;
    /// `INTERFACE`, a string.
    pub const INTERFACE: u8 = 2;
    /// `MEMBER`, a string.
    pub const MEMBER: u8 = 3;
    /// `ERROR_NAME`, a string.
    pub const ERROR_NAME: u8 = 4;
    /// `REPLY_SERIAL`, a `u`.
    pub const REPLY_SERIAL: u8 = 5;
    /// `DESTINATION`, a string.
    pub const DESTINATION: u8 = 6;
    /// `SENDER`, a string.
    pub const SENDER: u8 = 7;
    /// `SIGNATURE`, a signature.
    pub const SIGNATURE: u8 = 8;
}

/// An argument to send: the basic types the calls use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg<'a> {
    /// `y`
    Byte(u8),
    /// `b`
    Bool(bool),
    /// `i`
    Int32(i32),
    /// `u`
    Uint32(u32),
    /// `x`
    Int64(i64),
    /// `s`
    Str(&'a str),
    /// `o`
    ObjectPath(&'a str),
    /// `g`
    Signature(&'a str),
}

impl Arg<'_> {
    /// The argument's type code.
    pub fn type_code(&self) -> char {
        match self {
            Arg::Byte(_) => 'y',
            Arg::Bool(_) => 'b',
            Arg::Int32(_) => 'i',
            Arg::Uint32(_) => 'u',
            Arg::Int64(_) => 'x',
            Arg::Str(_) => 's',
            Arg::ObjectPath(_) => 'o',
            Arg::Signature(_) => 'g',
        }
    }
}

/// A value read from a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `y`
    Byte(u8),
    /// `b`
    Bool(bool),
    /// `n`
    Int16(i16),
    /// `q`
    Uint16(u16),
    /// `i`
    Int32(i32),
    /// `u`
    Uint32(u32),
    /// `x`
    Int64(i64),
    /// `t`
    Uint64(u64),
    /// `d`
    Double(f64),
    /// `h`: an index into the message's file descriptors (never passed here).
    UnixFd(u32),
    /// `s`
    Str(String),
    /// `o`
    ObjectPath(String),
    /// `g`
    Signature(String),
    /// `a…`, including arrays of dict entries.
    Array(Vec<Value>),
    /// `(…)` and `{…}` (a dict entry is a struct of two).
    Struct(Vec<Value>),
    /// `v`
    Variant(Box<Value>),
}

/// A message's parts that this client uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Its type.
    pub kind: Kind,
    /// The sender's serial.
    pub serial: u32,
    /// `REPLY_SERIAL`: the call a return or error answers.
    pub reply_serial: Option<u32>,
    /// `MEMBER`: the method or signal name.
    pub member: Option<String>,
    /// `ERROR_NAME` of an error.
    pub error_name: Option<String>,
    /// The body's values, in order.
    pub body: Vec<Value>,
}

/// Writes one message: `kind` with `serial`, the header `fields` (code and value; the
/// `SIGNATURE` field is added from `body`), and the `body`.
pub fn encode(
    kind: Kind,
    serial: u32,
    fields: &[(u8, Arg<'_>)],
    body: &[Arg<'_>],
) -> Result<Vec<u8>, Error> {
    // The body starts 8-aligned, so writing it from offset 0 gives the same padding.
    let mut body_bytes = Writer::default();
    for arg in body {
        body_bytes.arg(arg)?;
    }
    let signature: String = body.iter().map(Arg::type_code).collect();
    let signature_field = (field::SIGNATURE, Arg::Signature(&signature));

    let mut out = Writer::default();
    out.bytes(&[b'l', kind.code(), 0, 1]);
    out.u32(len_u32(body_bytes.0.len())?);
    out.u32(serial);
    out.u32(0); // the fields' length, filled in below
    let with_signature = (!body.is_empty()).then_some(&signature_field);
    for (code, value) in fields.iter().chain(with_signature) {
        out.align(8);
        out.bytes(&[*code]);
        let mut type_code = [0; 4];
        out.signature(value.type_code().encode_utf8(&mut type_code))?;
        out.arg(value)?;
    }
    let fields_len = len_u32(out.0.len() - FIXED_HEADER)?;
    out.0[12..16].copy_from_slice(&fields_len.to_le_bytes());
    out.align(8);
    out.bytes(&body_bytes.0);
    if out.0.len() > MAX_MESSAGE {
        return Err(Error::Invalid("message over the size limit"));
    }
    Ok(out.0)
}

fn len_u32(len: usize) -> Result<u32, Error> {
    u32::try_from(len).map_err(|_| Error::Invalid("message over the size limit"))
}

/// The whole length of the message whose first [`FIXED_HEADER`] bytes are `fixed`,
/// checked against [`MAX_MESSAGE`] before anything else is read.
pub fn message_len(fixed: &[u8; FIXED_HEADER]) -> Result<usize, Error> {
    let big_endian = match fixed[0] {
        b'l' => false,
        b'B' => true,
        _ => return Err(Error::Malformed("unknown byte order")),
    };
    if fixed[3] != 1 {
        return Err(Error::Malformed("unknown protocol version"));
    }
    let word = |at: usize| {
        let bytes = [fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]];
        u64::from(if big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        })
    };
    let (body_len, fields_len) = (word(4), word(12));
    let total = FIXED_HEADER as u64 + fields_len.next_multiple_of(8) + body_len;
    if total > MAX_MESSAGE as u64 {
        return Err(Error::TooLarge(total));
    }
    Ok(total as usize)
}

/// Reads a whole message (exactly [`message_len`] bytes).
pub fn decode(bytes: &[u8]) -> Result<Message, Error> {
    let fixed: &[u8; FIXED_HEADER] = bytes
        .get(..FIXED_HEADER)
        .and_then(|fixed| fixed.try_into().ok())
        .ok_or(Error::Malformed("truncated header"))?;
    if message_len(fixed)? != bytes.len() {
        return Err(Error::Malformed("length differs from the header's"));
    }
    let mut reader = Reader {
        buf: bytes,
        pos: 8,
        big_endian: bytes[0] == b'B',
        values: 0,
    };
    let serial = reader.u32()?;
    if serial == 0 {
        return Err(Error::Malformed("serial 0"));
    }
    let mut message = Message {
        kind: Kind::from_code(bytes[1]),
        serial,
        reply_serial: None,
        member: None,
        error_name: None,
        body: Vec::new(),
    };
    let Value::Array(fields) = reader.value(b"a(yv)", 0)? else {
        return Err(Error::Malformed("header fields"));
    };
    let mut signature = String::new();
    for header_field in fields {
        let (code, value) = match header_field {
            Value::Struct(parts) => match <[Value; 2]>::try_from(parts) {
                Ok([Value::Byte(code), Value::Variant(value)]) => (code, *value),
                _ => return Err(Error::Malformed("header field")),
            },
            _ => return Err(Error::Malformed("header field")),
        };
        match (code, value) {
            (field::REPLY_SERIAL, Value::Uint32(n)) => message.reply_serial = Some(n),
            (field::MEMBER, Value::Str(s)) => message.member = Some(s),
            (field::ERROR_NAME, Value::Str(s)) => message.error_name = Some(s),
            (field::SIGNATURE, Value::Signature(s)) => signature = s,
            (field::REPLY_SERIAL | field::MEMBER | field::ERROR_NAME | field::SIGNATURE, _) => {
                return Err(Error::Malformed("header field of the wrong type"))
            }
            _ => {} // PATH, SENDER, ...: not needed; unknown codes are ignored
        }
    }
    reader.align(8)?;
    let mut types = signature.as_bytes();
    while !types.is_empty() {
        let len = complete_type_len(types, 0)?;
        message.body.push(reader.value(&types[..len], 0)?);
        types = &types[len..];
    }
    if reader.pos != bytes.len() {
        return Err(Error::Malformed("body longer than its signature"));
    }
    let required = match message.kind {
        Kind::MethodReturn => message.reply_serial.is_some(),
        Kind::Error => message.reply_serial.is_some() && message.error_name.is_some(),
        _ => true,
    };
    if !required {
        return Err(Error::Malformed("reply without its required header fields"));
    }
    Ok(message)
}

/// A growing little-endian message (alignment counts from the message's first byte).
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn align(&mut self, to: usize) {
        let len = self.0.len().next_multiple_of(to);
        self.0.resize(len, 0);
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn u32(&mut self, n: u32) {
        self.align(4);
        self.bytes(&n.to_le_bytes());
    }

    fn string(&mut self, s: &str) -> Result<(), Error> {
        if s.contains('\0') {
            return Err(Error::Invalid("a string holds a NUL byte"));
        }
        self.u32(len_u32(s.len())?);
        self.bytes(s.as_bytes());
        self.bytes(&[0]);
        Ok(())
    }

    fn signature(&mut self, s: &str) -> Result<(), Error> {
        let len = u8::try_from(s.len()).map_err(|_| Error::Invalid("signature too long"))?;
        if s.contains('\0') {
            return Err(Error::Invalid("a signature holds a NUL byte"));
        }
        self.bytes(&[len]);
        self.bytes(s.as_bytes());
        self.bytes(&[0]);
        Ok(())
    }

    fn arg(&mut self, arg: &Arg<'_>) -> Result<(), Error> {
        match *arg {
            Arg::Byte(n) => self.bytes(&[n]),
            Arg::Bool(b) => self.u32(u32::from(b)),
            Arg::Int32(n) => self.u32(n as u32),
            Arg::Uint32(n) => self.u32(n),
            Arg::Int64(n) => {
                self.align(8);
                self.bytes(&n.to_le_bytes());
            }
            Arg::Str(s) | Arg::ObjectPath(s) => self.string(s)?,
            Arg::Signature(s) => self.signature(s)?,
        }
        Ok(())
    }
}

/// The length of the single complete type at the start of `signature`.
fn complete_type_len(signature: &[u8], depth: usize) -> Result<usize, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::Malformed("signature nested too deeply"));
    }
    match signature.first() {
        Some(b'a') => Ok(1 + complete_type_len(&signature[1..], depth + 1)?),
        Some(open @ (b'(' | b'{')) => {
            let close = if *open == b'(' { b')' } else { b'}' };
            let mut len = 1;
            let mut members = 0;
            loop {
                match signature.get(len) {
                    Some(c) if *c == close => break,
                    Some(_) => {
                        len += complete_type_len(&signature[len..], depth + 1)?;
                        members += 1;
                    }
                    None => return Err(Error::Malformed("unclosed struct in a signature")),
                }
            }
            let fits = if close == b')' {
                members > 0
            } else {
                members == 2 && is_basic(signature[1])
            };
            if !fits {
                return Err(Error::Malformed(
                    "empty struct or bad dict entry in a signature",
                ));
            }
            Ok(len + 1)
        }
        Some(&c) if is_basic(c) || c == b'v' => Ok(1),
        _ => Err(Error::Malformed("bad signature")),
    }
}

fn is_basic(code: u8) -> bool {
    b"ybnqiuxtdhsog".contains(&code)
}

/// The alignment of a type by its first code ("Marshaling (Wire Format)").
fn alignment(code: u8) -> Option<usize> {
    match code {
        b'y' | b'g' | b'v' => Some(1),
        b'n' | b'q' => Some(2),
        b'b' | b'i' | b'u' | b'h' | b's' | b'o' | b'a' => Some(4),
        b'x' | b't' | b'd' | b'(' | b'{' => Some(8),
        _ => None,
    }
}

/// Reads values from a message; positions count from the message's first byte.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    big_endian: bool,
    values: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|end| *end <= self.buf.len())
            .ok_or(Error::Malformed("truncated"))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn align(&mut self, to: usize) -> Result<(), Error> {
        let padding = self.pos.next_multiple_of(to) - self.pos;
        if self.take(padding)?.iter().any(|b| *b != 0) {
            return Err(Error::Malformed("non-zero padding"));
        }
        Ok(())
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        self.align(N)?;
        let mut bytes: [u8; N] = self.take(N)?.try_into().expect("took N bytes");
        if self.big_endian {
            bytes.reverse();
        }
        Ok(bytes) // now little-endian
    }

    fn u32(&mut self) -> Result<u32, Error> {
        self.fixed().map(u32::from_le_bytes)
    }

    /// `len` bytes of text and the NUL after them.
    fn text(&mut self, len: usize) -> Result<String, Error> {
        let bytes = self.take(len)?;
        if self.take(1)? != [0] || bytes.contains(&0) {
            return Err(Error::Malformed("string not NUL-terminated"));
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::Malformed("string not UTF-8"))
    }

    fn value(&mut self, ty: &[u8], depth: usize) -> Result<Value, Error> {
        self.values += 1;
        if self.values > MAX_VALUES || depth > MAX_DEPTH {
            return Err(Error::Malformed("too many or too deeply nested values"));
        }
        let value = match ty[0] {
            b'y' => Value::Byte(self.take(1)?[0]),
            b'b' => match self.u32()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                _ => return Err(Error::Malformed("boolean neither 0 nor 1")),
            },
            b'n' => Value::Int16(self.fixed().map(i16::from_le_bytes)?),
            b'q' => Value::Uint16(self.fixed().map(u16::from_le_bytes)?),
            b'i' => Value::Int32(self.fixed().map(i32::from_le_bytes)?),
            b'u' => Value::Uint32(self.u32()?),
            b'h' => Value::UnixFd(self.u32()?),
            b'x' => Value::Int64(self.fixed().map(i64::from_le_bytes)?),
            b't' => Value::Uint64(self.fixed().map(u64::from_le_bytes)?),
            b'd' => Value::Double(self.fixed().map(f64::from_le_bytes)?),
            b's' | b'o' => {
                let len = self.u32()? as usize;
                let text = self.text(len)?;
                if ty[0] == b's' {
                    Value::Str(text)
                } else {
                    Value::ObjectPath(text)
                }
            }
            b'g' => Value::Signature(self.signature()?),
            b'v' => {
                let signature = self.signature()?;
                let types = signature.as_bytes();
                if types.is_empty() || complete_type_len(types, depth)? != types.len() {
                    return Err(Error::Malformed("variant of more than one type"));
                }
                Value::Variant(Box::new(self.value(types, depth + 1)?))
            }
            b'a' => self.array(&ty[1..], depth)?,
            _ => {
                // `(` or `{`: fields up to the closing bracket.
                self.align(8)?;
                let mut inner = &ty[1..ty.len() - 1];
                let mut fields = Vec::new();
                while !inner.is_empty() {
                    let len = complete_type_len(inner, depth)?;
                    fields.push(self.value(&inner[..len], depth + 1)?);
                    inner = &inner[len..];
                }
                Value::Struct(fields)
            }
        };
        Ok(value)
    }

    fn signature(&mut self) -> Result<String, Error> {
        let len = self.take(1)?[0];
        self.text(usize::from(len))
    }

    fn array(&mut self, element: &[u8], depth: usize) -> Result<Value, Error> {
        let len = self.u32()? as usize;
        let align = alignment(element[0]).ok_or(Error::Malformed("bad signature"))?;
        self.align(align)?; // even when the array is empty
        let end = self
            .pos
            .checked_add(len)
            .filter(|end| *end <= self.buf.len())
            .ok_or(Error::Malformed("truncated array"))?;
        let mut items = Vec::new();
        while self.pos < end {
            items.push(self.value(element, depth + 1)?);
        }
        if self.pos != end {
            return Err(Error::Malformed("array element crosses the array's end"));
        }
        Ok(Value::Array(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every expected byte below is derived from the specification by hand: the fixed
    /// header is `endianness, type, flags, version, body length (u32), serial (u32),
    /// fields length (u32)`; each header field is an 8-aligned struct `(y v)`, a variant
    /// being a signature (length byte, codes, NUL) then its value at that type's
    /// alignment; the header is padded to 8 before the body.
    #[test]
    fn a_hello_call_is_the_bytes_of_the_specification() {
        let mut expected: Vec<u8> = Vec::new();
        // 0: 'l' (little-endian), type 1 (METHOD_CALL), flags 0, protocol version 1.
        expected.extend([b'l', 1, 0, 1]);
        // 4: body length 0 (no arguments, so no SIGNATURE field); 8: serial 1.
        expected.extend([0, 0, 0, 0, 1, 0, 0, 0]);
        // 12: the fields array runs from 16 to 125 (worked out below): 109 = 0x6d.
        expected.extend([0x6d, 0, 0, 0]);
        // 16: PATH (1), signature "o"; at 20 (4-aligned) the length 21, the 21 bytes of
        // the path and a NUL: 20 + 4 + 21 + 1 = 46; 2 bytes pad the next struct to 48.
        expected.extend([1, 1, b'o', 0, 21, 0, 0, 0]);
        expected.extend(b"/org/freedesktop/DBus\0\0\0");
        // 48: INTERFACE (2), "s"; 52: length 20; 56..76 the name, 76 NUL; pad 77 → 80.
        expected.extend([2, 1, b's', 0, 20, 0, 0, 0]);
        expected.extend(b"org.freedesktop.DBus\0\0\0\0");
        // 80: MEMBER (3), "s"; 84: length 5; 88..93 "Hello", 93 NUL; pad 94 → 96.
        expected.extend([3, 1, b's', 0, 5, 0, 0, 0]);
        expected.extend(b"Hello\0\0\0");
        // 96: DESTINATION (6), "s"; 100: length 20; 104..124 the name, 124 NUL → 125;
        // the header is padded to 128, where the (empty) body starts.
        expected.extend([6, 1, b's', 0, 20, 0, 0, 0]);
        expected.extend(b"org.freedesktop.DBus\0\0\0\0");
        assert_eq!(expected.len(), 128);

        let encoded = encode(
            Kind::MethodCall,
            1,
            &[
                (field::PATH, Arg::ObjectPath("/org/freedesktop/DBus")),
                (field::INTERFACE, Arg::Str("org.freedesktop.DBus")),
                (field::MEMBER, Arg::Str("Hello")),
                (field::DESTINATION, Arg::Str("org.freedesktop.DBus")),
            ],
            &[],
        )
        .expect("encode");
        assert_eq!(encoded, expected);
    }

    #[test]
    fn set_time_arguments_are_aligned_in_the_body() {
        // SetTime(x, b, b) with x = 0x0102030405060708, true, false; no header fields
        // but the SIGNATURE one.
        let mut expected: Vec<u8> = vec![b'l', 1, 0, 1];
        // 4: body length 16 (x at 0..8, b at 8..12, b at 12..16); 8: serial 7.
        expected.extend([16, 0, 0, 0, 7, 0, 0, 0]);
        // 12: fields 16..25: 9 bytes.
        expected.extend([9, 0, 0, 0]);
        // 16: SIGNATURE (8), variant "g"; 20: length 3, "xbb", NUL → 25; pad to 32.
        expected.extend([8, 1, b'g', 0, 3, b'x', b'b', b'b', 0, 0, 0, 0, 0, 0, 0, 0]);
        // 32: the int64, least significant byte first; 40: true; 44: false.
        expected.extend([8, 7, 6, 5, 4, 3, 2, 1]);
        expected.extend([1, 0, 0, 0, 0, 0, 0, 0]);

        let args = [
            Arg::Int64(0x0102_0304_0506_0708),
            Arg::Bool(true),
            Arg::Bool(false),
        ];
        let encoded = encode(Kind::MethodCall, 7, &[], &args).expect("encode");
        assert_eq!(encoded, expected);
    }

    #[test]
    fn strings_and_int32_arguments_follow_their_alignment() {
        // (s b) = ("UTC", false): fields 16..24 (SIGNATURE "sb": 8, 1, 'g', 0, 2, 's',
        // 'b', 0), 8 bytes, already 8-aligned; body at 24: length 3, "UTC", NUL (24..32),
        // then false at 32..36: 12 bytes.
        let mut expected: Vec<u8> = vec![b'l', 1, 0, 1, 12, 0, 0, 0, 2, 0, 0, 0, 8, 0, 0, 0];
        expected.extend([8, 1, b'g', 0, 2, b's', b'b', 0]);
        expected.extend([3, 0, 0, 0, b'U', b'T', b'C', 0, 0, 0, 0, 0]);
        let args = [Arg::Str("UTC"), Arg::Bool(false)];
        assert_eq!(encode(Kind::MethodCall, 2, &[], &args).unwrap(), expected);

        // (y i) = (7, -2): body at 24: 7, 3 bytes padding, -2 as 0xfffffffe: 8 bytes.
        let mut expected: Vec<u8> = vec![b'l', 1, 0, 1, 8, 0, 0, 0, 3, 0, 0, 0, 8, 0, 0, 0];
        expected.extend([8, 1, b'g', 0, 2, b'y', b'i', 0]);
        expected.extend([7, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
        let args = [Arg::Byte(7), Arg::Int32(-2)];
        assert_eq!(encode(Kind::MethodCall, 3, &[], &args).unwrap(), expected);
    }

    #[test]
    fn a_string_with_a_nul_byte_is_refused() {
        let err = encode(Kind::MethodCall, 1, &[], &[Arg::Str("a\0b")]).unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err}");
    }

    /// A METHOD_RETURN (serial 5) to call 1 whose body is the string ":1.42".
    fn hello_reply(big_endian: bool) -> Vec<u8> {
        // u32s as the byte order says.
        let u = |n: u32| {
            if big_endian {
                n.to_be_bytes()
            } else {
                n.to_le_bytes()
            }
        };
        let mut bytes = vec![if big_endian { b'B' } else { b'l' }, 2, 1, 1];
        // 4: body length: 4 (length) + 5 + 1 (NUL) = 10; 8: serial 5; 12: fields 16..31.
        bytes.extend(u(10));
        bytes.extend(u(5));
        bytes.extend(u(15));
        // 16: REPLY_SERIAL (5), "u", at 20 the serial 1 → 24.
        bytes.extend([5, 1, b'u', 0]);
        bytes.extend(u(1));
        // 24: SIGNATURE (8), "g", at 28: 1, "s", NUL → 31; pad to 32.
        bytes.extend([8, 1, b'g', 0, 1, b's', 0, 0]);
        // 32: the body.
        bytes.extend(u(5));
        bytes.extend(b":1.42\0");
        bytes
    }

    #[test]
    fn a_reply_is_read_in_either_byte_order() {
        for big_endian in [false, true] {
            let bytes = hello_reply(big_endian);
            assert_eq!(bytes.len(), 42);
            let fixed = bytes[..FIXED_HEADER].try_into().unwrap();
            assert_eq!(message_len(fixed).unwrap(), 42);
            assert_eq!(
                decode(&bytes).expect("decode"),
                Message {
                    kind: Kind::MethodReturn,
                    serial: 5,
                    reply_serial: Some(1),
                    member: None,
                    error_name: None,
                    body: vec![Value::Str(":1.42".into())],
                }
            );
        }
    }

    /// An ERROR "x.Denied" to call 2 with the message "no".
    fn error_reply() -> Vec<u8> {
        // 4: body length 4 + 2 + 1 = 7; 8: serial 3; 12: fields 16..55 = 39.
        let mut bytes = vec![b'l', 3, 1, 1, 7, 0, 0, 0, 3, 0, 0, 0, 39, 0, 0, 0];
        // 16: ERROR_NAME (4), "s", 20: length 8, 24..32 "x.Denied", 32 NUL; pad → 40.
        bytes.extend([4, 1, b's', 0, 8, 0, 0, 0]);
        bytes.extend(b"x.Denied\0\0\0\0\0\0\0\0");
        // 40: REPLY_SERIAL (5), "u", 44: 2 → 48.
        bytes.extend([5, 1, b'u', 0, 2, 0, 0, 0]);
        // 48: SIGNATURE (8), "g", 52: 1, "s", NUL → 55; pad → 56.
        bytes.extend([8, 1, b'g', 0, 1, b's', 0, 0]);
        // 56: the message.
        bytes.extend([2, 0, 0, 0, b'n', b'o', 0]);
        bytes
    }

    /// Messages GLib's `GDBusMessage.to_blob()` wrote (python3-gi; also the fuzz seeds of
    /// `fuzz/seeds/dbus_message`): another implementation's bytes read as it meant them.
    #[test]
    fn messages_written_by_glib_read_as_written() {
        let seed = |name: &str| {
            let path = format!(
                "{}/../../fuzz/seeds/dbus_message/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            decode(&std::fs::read(&path).expect("seed file")).expect(name)
        };
        let job = |path: &str| vec![Value::ObjectPath(path.into())];

        let reply = seed("restart_unit_reply.bin");
        assert_eq!(
            (reply.kind, reply.serial, reply.reply_serial),
            (Kind::MethodReturn, 7, Some(3))
        );
        assert_eq!(reply.body, job("/org/freedesktop/systemd1/job/42"));

        let big_endian = seed("big_endian_reply.bin");
        assert_eq!(big_endian.reply_serial, Some(3));
        assert_eq!(big_endian.body, job("/org/freedesktop/systemd1/job/43"));

        let denied = seed("access_denied_error.bin");
        assert_eq!((denied.kind, denied.reply_serial), (Kind::Error, Some(2)));
        assert_eq!(
            denied.error_name.as_deref(),
            Some("org.freedesktop.DBus.Error.AccessDenied")
        );
        assert_eq!(denied.body, vec![Value::Str("Permission denied".into())]);

        let signal = seed("name_acquired_signal.bin");
        assert_eq!(
            (signal.kind, signal.member.as_deref()),
            (Kind::Signal, Some("NameAcquired"))
        );

        let call = seed("set_time_call.bin");
        assert_eq!(call.member.as_deref(), Some("SetTime"));
        assert_eq!(
            call.body,
            vec![
                Value::Int64(1_700_000_000_000_000),
                Value::Bool(false),
                Value::Bool(false)
            ]
        );

        let properties = seed("properties_reply.bin");
        let Some(Value::Array(entries)) = properties.body.first() else {
            panic!("an a{{sv}} body: {:?}", properties.body);
        };
        assert!(entries.contains(&Value::Struct(vec![
            Value::Str("Timezone".into()),
            Value::Variant(Box::new(Value::Str("Europe/Berlin".into()))),
        ])));
    }

    #[test]
    fn an_error_reply_gives_its_name_and_message() {
        let message = decode(&error_reply()).expect("decode");
        assert_eq!(message.kind, Kind::Error);
        assert_eq!(message.reply_serial, Some(2));
        assert_eq!(message.error_name.as_deref(), Some("x.Denied"));
        assert_eq!(message.body, [Value::Str("no".into())]);
    }

    /// A METHOD_RETURN to call 1 whose body is `av` = [<true>, <"a">].
    fn variants_reply() -> Vec<u8> {
        // 4: body length 54 - 32 = 22 (below); 8: serial 4; 12: fields 16..32 = 16.
        let mut bytes = vec![b'l', 2, 0, 1, 22, 0, 0, 0, 4, 0, 0, 0, 16, 0, 0, 0];
        bytes.extend([5, 1, b'u', 0, 1, 0, 0, 0]); // 16: REPLY_SERIAL 1
        bytes.extend([8, 1, b'g', 0, 2, b'a', b'v', 0]); // 24: SIGNATURE "av"
                                                         // 32: array length; elements (variants, 1-aligned) from 36: signature "b" at
                                                         // 36..39, pad, true at 40..44; signature "s" at 44..47, pad, at 48 length 1,
                                                         // "a", NUL → 54. Array length 54 - 36 = 18.
        bytes.extend([18, 0, 0, 0]);
        bytes.extend([1, b'b', 0, 0, 1, 0, 0, 0]);
        bytes.extend([1, b's', 0, 0, 1, 0, 0, 0, b'a', 0]);
        bytes
    }

    #[test]
    fn containers_and_variants_are_read() {
        let message = decode(&variants_reply()).expect("decode");
        assert_eq!(
            message.body,
            [Value::Array(vec![
                Value::Variant(Box::new(Value::Bool(true))),
                Value::Variant(Box::new(Value::Str("a".into()))),
            ])]
        );
    }

    #[test]
    fn a_message_over_the_limit_is_refused_from_its_header() {
        // Body length 2 MiB.
        let fixed = [b'l', 2, 0, 1, 0, 0, 0x20, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(message_len(&fixed), Err(Error::TooLarge(_))));
        // Fields length 0xffffffff.
        let fixed = [
            b'l', 2, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
        ];
        assert!(matches!(message_len(&fixed), Err(Error::TooLarge(_))));
    }

    #[test]
    fn truncated_or_damaged_messages_are_errors_not_panics() {
        for message in [
            hello_reply(false),
            hello_reply(true),
            error_reply(),
            variants_reply(),
        ] {
            for len in 0..message.len() {
                assert!(decode(&message[..len]).is_err(), "prefix of {len} bytes");
            }
            // Every byte replaced by a few telling values: decoding may succeed or not,
            // but never panics.
            for at in 0..message.len() {
                for replacement in [0, 1, 0x7f, 0x80, 0xff, b'a', b'(', b'v'] {
                    let mut damaged = message.clone();
                    damaged[at] = replacement;
                    let _ = decode(&damaged);
                }
            }
        }
    }

    #[test]
    fn nesting_is_bounded() {
        // A signal whose body (signature "v") is a variant holding `depth` more variants,
        // the innermost holding the byte 5: each variant is its content's signature
        // (1, 'v', NUL), the last (1, 'y', NUL) then the byte.
        let nested = |depth: usize| {
            let mut body = Vec::new();
            for _ in 0..depth {
                body.extend([1, b'v', 0]);
            }
            body.extend([1, b'y', 0, 5]);
            let mut bytes = vec![b'l', 4, 0, 1];
            bytes.extend((body.len() as u32).to_le_bytes());
            // 8: serial 1; 12: fields 16..23 (SIGNATURE: 8, 1, 'g', 0, 1, 'v', 0) = 7.
            bytes.extend([1, 0, 0, 0, 7, 0, 0, 0]);
            bytes.extend([8, 1, b'g', 0, 1, b'v', 0, 0]);
            bytes.extend(body);
            decode(&bytes)
        };
        let mut expected = Value::Byte(5);
        for _ in 0..=10 {
            expected = Value::Variant(Box::new(expected));
        }
        assert_eq!(nested(10).expect("10 levels").body, [expected]);
        assert!(matches!(nested(100), Err(Error::Malformed(_))));
    }
}
