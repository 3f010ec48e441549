//! Server-sent event framing (the WHATWG `text/event-stream` format).

use bytes::Bytes;

/// One event. Each line of `data` becomes its own `data:` field, so a
/// payload can never end the event early or inject fields.
pub fn event(id: Option<&str>, name: Option<&str>, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + 48);
    if let Some(n) = name {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(n.as_bytes());
        out.push(b'\n');
    }
    if let Some(i) = id {
        out.extend_from_slice(b"id: ");
        out.extend_from_slice(i.as_bytes());
        out.push(b'\n');
    }
    for line in data.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.push(b'\n');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing() {
        assert_eq!(
            &event(Some("3-1"), None, b"{\"a\":1}")[..],
            b"id: 3-1\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(
            &event(None, Some("endpoint"), b"/messages?sessionId=x")[..],
            b"event: endpoint\ndata: /messages?sessionId=x\n\n"
        );
        // An embedded newline cannot start a new field.
        assert_eq!(
            &event(None, None, b"a\nid: evil")[..],
            b"data: a\ndata: id: evil\n\n"
        );
        assert_eq!(&event(Some("1-0"), None, b"")[..], b"id: 1-0\ndata: \n\n");
    }
}
