//! What the proxy knows about a call before forwarding it, as pure functions over plain
//! data: the method's shape from the API's descriptors ([`Methods`]), whether a buffered
//! request carries a `request_id` (a scan of the protobuf wire format, no decoding of the
//! message type), the `grpc-timeout` header, and the `x-request-id` a call is given.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use prost::Message;
use prost_types::FileDescriptorSet;
use prost_types::field_descriptor_proto::Type;

/// The shape of one method, from the API's descriptors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MethodInfo {
    /// The client sends a stream of messages (the request body cannot be buffered).
    pub client_streaming: bool,
    /// The server answers with a stream of messages.
    pub server_streaming: bool,
    /// The field number of the request's `string request_id`, when it has one.
    pub request_id_field: Option<u32>,
}

/// Every method of the API, by gRPC path (`/ferry.deploy.v1.NamespaceService/GetNamespace`).
#[derive(Clone, Debug, Default)]
pub struct Methods {
    by_path: HashMap<String, MethodInfo>,
}

impl Methods {
    /// The methods of Ferry's API ([`ferry_proto::FILE_DESCRIPTOR_SET`]).
    pub fn ferry() -> Result<Self, prost::DecodeError> {
        Self::from_descriptor_set(ferry_proto::FILE_DESCRIPTOR_SET)
    }

    /// The methods of every service in an encoded `FileDescriptorSet`.
    pub fn from_descriptor_set(encoded: &[u8]) -> Result<Self, prost::DecodeError> {
        let set = FileDescriptorSet::decode(encoded)?;
        // Request messages by fully qualified name (`.ferry.deploy.v1.GetNamespaceRequest`):
        // the field number of their `request_id`, if any.
        let mut request_ids: HashMap<String, Option<u32>> = HashMap::new();
        for file in &set.file {
            for message in &file.message_type {
                let request_id = message
                    .field
                    .iter()
                    .find(|field| field.name() == "request_id" && field.r#type() == Type::String)
                    .and_then(|field| u32::try_from(field.number()).ok());
                request_ids.insert(
                    format!(".{}.{}", file.package(), message.name()),
                    request_id,
                );
            }
        }
        let mut by_path = HashMap::new();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                    let info = MethodInfo {
                        client_streaming: method.client_streaming(),
                        server_streaming: method.server_streaming(),
                        request_id_field: request_ids.get(method.input_type()).copied().flatten(),
                    };
                    by_path.insert(path, info);
                }
            }
        }
        Ok(Self { by_path })
    }

    /// The method at `path`, when the API declares it.
    pub fn get(&self, path: &str) -> Option<&MethodInfo> {
        self.by_path.get(path)
    }
}

/// The message of a request body holding exactly one uncompressed gRPC frame (a unary
/// request); `None` otherwise (compressed, several frames, truncated).
pub fn single_message(body: &[u8]) -> Option<&[u8]> {
    let (&compressed, rest) = body.split_first()?;
    if compressed != 0 || rest.len() < 4 {
        return None;
    }
    let (length, message) = rest.split_at(4);
    let length = u32::from_be_bytes(length.try_into().ok()?) as usize;
    (message.len() == length).then_some(message)
}

/// True when the top level of the protobuf `message` holds a non-empty length-delimited
/// field `number` (a set proto3 `string`). Malformed input answers false.
pub fn has_non_empty_field(message: &[u8], number: u32) -> bool {
    let mut rest = message;
    while !rest.is_empty() {
        let Some(key) = read_varint(&mut rest) else {
            return false;
        };
        let skip = match key & 0x7 {
            0 => {
                if read_varint(&mut rest).is_none() {
                    return false;
                }
                0
            }
            1 => 8,
            2 => {
                let Some(length) = read_varint(&mut rest).and_then(|l| usize::try_from(l).ok())
                else {
                    return false;
                };
                if key >> 3 == u64::from(number) && length > 0 && rest.len() >= length {
                    return true;
                }
                length
            }
            5 => 4,
            // Groups (3, 4) are not proto3; anything else is malformed.
            _ => return false,
        };
        if rest.len() < skip {
            return false;
        }
        rest = &rest[skip..];
    }
    false
}

/// The bytes of the first length-delimited field `number` at the top level of the
/// protobuf `message` (a `string` or an embedded message); `None` when absent or
/// malformed.
pub fn length_delimited_field(message: &[u8], number: u32) -> Option<&[u8]> {
    let mut rest = message;
    while !rest.is_empty() {
        let key = read_varint(&mut rest)?;
        let skip = match key & 0x7 {
            0 => {
                read_varint(&mut rest)?;
                0
            }
            1 => 8,
            2 => {
                let length = usize::try_from(read_varint(&mut rest)?).ok()?;
                if rest.len() < length {
                    return None;
                }
                if key >> 3 == u64::from(number) {
                    return Some(&rest[..length]);
                }
                length
            }
            5 => 4,
            _ => return None,
        };
        if rest.len() < skip {
            return None;
        }
        rest = &rest[skip..];
    }
    None
}

fn read_varint(buffer: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (index, byte) in buffer.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            *buffer = &buffer[index + 1..];
            return Some(value);
        }
    }
    None
}

/// Parses a `grpc-timeout` value: up to 8 digits and a unit (`H`, `M`, `S`, `m`, `u`,
/// `n`), per the gRPC over HTTP/2 protocol.
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// A unary request's body, read whole (within the message limit) by the auth layer and
/// attached to the request's extensions next to the same bytes as its body, so the proxy
/// behind it does not read the body a second time.
#[derive(Clone, Debug)]
pub struct BufferedBody(pub Bytes);

/// A fresh `x-request-id` value: a random (version 4) UUID from the thread's CSPRNG, which
/// costs no system call (`Uuid::new_v4` asks the OS for every id).
///
/// The value is marked sensitive, which makes HPACK send it as a never-indexed literal:
/// a value unique to one call would otherwise enter the HTTP/2 header table of the
/// connection it is forwarded on, evict the entries that do repeat, and lengthen the
/// table's search for every later header of that name.
pub fn new_request_id() -> HeaderValue {
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    let mut buffer = uuid::Uuid::encode_buffer();
    let mut value = HeaderValue::from_str(id.hyphenated().encode_lower(&mut buffer))
        .expect("a hyphenated UUID is a valid header value");
    value.set_sensitive(true);
    value
}

/// Encodes a duration as a `grpc-timeout` value, in the finest unit that fits in 8 digits,
/// rounding down: the encoded deadline is never later than the real one.
pub fn encode_grpc_timeout(timeout: Duration) -> String {
    const MAX: u128 = 99_999_999;
    let nanos = timeout.as_nanos();
    for (unit, per) in [
        ("n", 1u128),
        ("u", 1_000),
        ("m", 1_000_000),
        ("S", 1_000_000_000),
        ("M", 60_000_000_000),
        ("H", 3_600_000_000_000),
    ] {
        if nanos / per <= MAX {
            return format!("{}{unit}", nanos / per);
        }
    }
    format!("{MAX}H")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::deploy::v1::{CreateNamespaceRequest, GetNamespaceRequest, Namespace};

    #[test]
    fn request_ids_are_fresh_v4_uuids_never_indexed() {
        let first = new_request_id();
        let second = new_request_id();
        assert_ne!(first, second);
        for value in [first, second] {
            assert!(value.is_sensitive(), "sent as a never-indexed literal");
            let id = uuid::Uuid::parse_str(value.to_str().unwrap()).unwrap();
            assert_eq!(id.get_version(), Some(uuid::Version::Random));
            assert_eq!(id.hyphenated().to_string(), value.to_str().unwrap());
        }
    }

    fn frame(message: &impl Message) -> Vec<u8> {
        let bytes = message.encode_to_vec();
        let mut body = vec![0];
        body.extend((bytes.len() as u32).to_be_bytes());
        body.extend(bytes);
        body
    }

    #[test]
    fn methods_come_from_the_api_descriptors() {
        let methods = Methods::ferry().unwrap();
        let create = methods
            .get("/ferry.deploy.v1.NamespaceService/CreateNamespace")
            .unwrap();
        assert_eq!(create.request_id_field, Some(3));
        assert!(!create.client_streaming && !create.server_streaming);
        let get = methods
            .get("/ferry.deploy.v1.NamespaceService/GetNamespace")
            .unwrap();
        assert_eq!(get.request_id_field, None);
        let watch = methods
            .get("/ferry.common.v1.OperationsService/WatchOperation")
            .unwrap();
        assert!(watch.server_streaming && !watch.client_streaming);
        assert!(
            methods
                .get("/ferry.deploy.v1.NamespaceService/Nope")
                .is_none()
        );
    }

    #[test]
    fn a_request_id_is_found_in_the_wire_bytes() {
        let with = CreateNamespaceRequest {
            namespace_id: "dev".into(),
            namespace: Some(Namespace {
                description: "a namespace".into(),
                ..Default::default()
            }),
            request_id: "0b1d2c3e-0000-4000-8000-000000000000".into(),
            validate_only: true,
        };
        let body = frame(&with);
        let message = single_message(&body).unwrap();
        assert!(has_non_empty_field(message, 3));
        // The field number of namespace_id is not the request id's.
        let without = CreateNamespaceRequest {
            request_id: String::new(),
            ..with
        };
        let body = frame(&without);
        assert!(!has_non_empty_field(single_message(&body).unwrap(), 3));
        let get = frame(&GetNamespaceRequest {
            name: "namespaces/dev".into(),
        });
        assert!(!has_non_empty_field(single_message(&get).unwrap(), 3));
    }

    #[test]
    fn malformed_or_compressed_bodies_carry_no_request_id() {
        assert_eq!(single_message(&[]), None);
        assert_eq!(single_message(&[1, 0, 0, 0, 0]), None, "compressed");
        assert_eq!(single_message(&[0, 0, 0, 0, 5, 1]), None, "truncated");
        assert_eq!(single_message(&[0, 0, 0, 0, 0]), Some(&[][..]));
        // Field 3, length 10, but only 2 bytes follow.
        assert!(!has_non_empty_field(&[0x1a, 10, b'a', b'b'], 3));
        // A varint that never ends.
        assert!(!has_non_empty_field(&[0x08, 0xff, 0xff], 3));
        // Wire type 3 (group start) is refused.
        assert!(!has_non_empty_field(&[0x1b], 3));
    }

    #[test]
    fn grpc_timeouts_parse_and_encode_without_ever_growing() {
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(parse_grpc_timeout("9n"), Some(Duration::from_nanos(9)));
        for bad in ["", "S", "5", "5s", "123456789S", "-1S", "1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
        for timeout in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_millis(99),
            Duration::from_millis(1234),
            Duration::new(30, 123_456_789),
            Duration::from_secs(100_000_000),
        ] {
            let encoded = encode_grpc_timeout(timeout);
            let parsed = parse_grpc_timeout(&encoded).unwrap();
            assert!(parsed <= timeout, "{timeout:?} became {encoded}");
            assert!(
                timeout - parsed < timeout / 1_000_000 + Duration::from_nanos(1),
                "{timeout:?} lost too much as {encoded}"
            );
        }
    }
}
