//! DSSE's Pre-Authentication Encoding (secure-systems-lab/dsse, `protocol.md`).

/// `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths as ASCII
/// decimal without leading zeros. The signature covers these bytes, so the payload type is
/// authenticated and nothing is parsed before it is verified.
pub fn pae(payload_type: &[u8], body: &[u8]) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let body_len = body.len().to_string();
    let mut out =
        Vec::with_capacity(10 + type_len.len() + payload_type.len() + body_len.len() + body.len());
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(type_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type);
    out.push(b' ');
    out.extend_from_slice(body_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::pae;

    #[test]
    fn matches_the_dsse_protocol_test_vector() {
        assert_eq!(
            pae(b"http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn encodes_empty_fields_with_zero_lengths() {
        assert_eq!(pae(b"", b""), b"DSSEv1 0  0 ");
    }
}
