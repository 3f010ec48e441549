//! SOCKS5 (RFC 1928), CONNECT only, no authentication: enough for clients
//! configured with `ALL_PROXY=socks5h://…`. Names are sent to the proxy
//! (ATYP 3) and resolved there, like HTTP CONNECT.

use super::request::Target;
use std::net::{Ipv4Addr, Ipv6Addr};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub const VERSION: u8 = 5;

/// Reply codes of RFC 1928 §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reply {
    Succeeded = 0,
    NotAllowed = 2,
    HostUnreachable = 4,
    ConnectionRefused = 5,
    CommandNotSupported = 7,
    AddressTypeNotSupported = 8,
}

/// Reads the greeting and the request (the version byte already consumed)
/// and returns the destination. Unsupported requests are answered here.
pub async fn negotiate<S>(stream: &mut S) -> std::io::Result<Option<Target>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let n = stream.read_u8().await? as usize;
    let mut methods = vec![0u8; n];
    stream.read_exact(&mut methods).await?;
    if !methods.contains(&0) {
        // 0xff: no acceptable method.
        stream.write_all(&[VERSION, 0xff]).await?;
        return Ok(None);
    }
    stream.write_all(&[VERSION, 0]).await?;
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).await?;
    let [version, command, _reserved, atyp] = head;
    if version != VERSION {
        return Ok(None);
    }
    let host = match atyp {
        1 => {
            let mut a = [0u8; 4];
            stream.read_exact(&mut a).await?;
            Ipv4Addr::from(a).to_string()
        }
        3 => {
            let len = stream.read_u8().await? as usize;
            let mut name = vec![0u8; len];
            stream.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        4 => {
            let mut a = [0u8; 16];
            stream.read_exact(&mut a).await?;
            format!("[{}]", Ipv6Addr::from(a))
        }
        _ => {
            reply(stream, Reply::AddressTypeNotSupported).await?;
            return Ok(None);
        }
    };
    let port = stream.read_u16().await?;
    if command != 1 {
        reply(stream, Reply::CommandNotSupported).await?;
        return Ok(None);
    }
    Ok(Some(Target::new(&host, port)))
}

/// Sends a reply with an all-zero bound address.
pub async fn reply<S: AsyncWrite + Unpin>(stream: &mut S, code: Reply) -> std::io::Result<()> {
    stream
        .write_all(&[VERSION, code as u8, 0, 1, 0, 0, 0, 0, 0, 0])
        .await
}
