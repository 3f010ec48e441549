//! The proxy's listening socket: created by the child inside the server's
//! network namespace, handed to vanguard over a socketpair.
//!
//! A socket belongs to the network namespace it was created in for its whole
//! life, whichever process holds it. So the child, right after `unshare`
//! and bringing `lo` up, creates `127.0.0.1:`[`PROXY_PORT`] there and sends
//! the fd to vanguard with `SCM_RIGHTS`; vanguard accepts on it from the host
//! namespace and connects out from there. No helper process, no veth pair.
//!
//! [`handoff`] prepares both ends in the parent (the address, the
//! socketpair); [`ListenerHandoff::create_and_send`] runs between fork and
//! exec (raw syscalls on stack data only); [`HandoffReceiver::receive`] runs
//! in vanguard after the spawn returned, when the fd is already queued.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The port the proxy listens on inside the server's namespace. Fixed (the
/// namespace is fresh, so it is always free), because the child's
/// environment and its Landlock connect rule are built before fork.
pub const PROXY_PORT: u16 = 3128;
/// The proxy's address inside the namespace.
pub const PROXY_ADDR: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// Pending connections the kernel queues before vanguard accepts.
const BACKLOG: libc::c_int = 1024;

/// The child's half: where to listen and where to send the socket.
pub struct ListenerHandoff {
    addr: libc::sockaddr_in,
    child_end: OwnedFd,
}

impl std::fmt::Debug for ListenerHandoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ListenerHandoff({PROXY_ADDR}:{PROXY_PORT} via fd {})",
            self.child_end.as_raw_fd()
        )
    }
}

/// vanguard's half: the end the listener arrives on.
#[derive(Debug)]
pub struct HandoffReceiver {
    parent_end: OwnedFd,
}

/// Errors of the hand-off, seen from vanguard.
#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    #[error("egress: socketpair for the listener hand-off: {0}")]
    Socketpair(#[source] io::Error),
    #[error("egress: the sandbox did not hand over the proxy listener: {0}")]
    NotReceived(#[source] io::Error),
    #[error("egress: the sandbox sent a message without a socket")]
    NoSocket,
}

/// Prepares a hand-off: a close-on-exec `AF_UNIX` socketpair and the address.
pub fn handoff() -> Result<(HandoffReceiver, ListenerHandoff), HandoffError> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: socketpair writes two fds into the array.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if rc < 0 {
        return Err(HandoffError::Socketpair(io::Error::last_os_error()));
    }
    // SAFETY: both fds are fresh and owned by nobody else.
    let (parent_end, child_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: sockaddr_in is plain data; all-zero is valid.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    addr.sin_family = libc::AF_INET as libc::sa_family_t;
    addr.sin_port = PROXY_PORT.to_be();
    addr.sin_addr.s_addr = u32::from(PROXY_ADDR).to_be();
    Ok((
        HandoffReceiver { parent_end },
        ListenerHandoff { addr, child_end },
    ))
}

/// Room for one `cmsghdr` carrying one fd, aligned like `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

impl ListenerHandoff {
    /// Creates, binds and listens on the proxy socket in the current network
    /// namespace, sends it to vanguard and closes both fds here, so the
    /// server never holds the listener. Async-signal-safe: raw syscalls on
    /// stack data.
    pub fn create_and_send(&self) -> io::Result<()> {
        // SAFETY: raw socket syscalls on a local fd and stack buffers that
        // outlive each call.
        unsafe {
            let sock = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            if sock < 0 {
                return Err(io::Error::last_os_error());
            }
            let result = self.bind_listen_send(sock);
            libc::close(sock);
            libc::close(self.child_end.as_raw_fd());
            result
        }
    }

    /// # Safety
    /// `sock` must be an open socket fd.
    unsafe fn bind_listen_send(&self, sock: RawFd) -> io::Result<()> {
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        if libc::bind(sock, (&self.addr as *const libc::sockaddr_in).cast(), len) < 0
            || libc::listen(sock, BACKLOG) < 0
        {
            return Err(io::Error::last_os_error());
        }
        let mut byte = [b'L'];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        let mut cmsg = CmsgBuf([0; 64]);
        let space = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as usize;
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.0.as_mut_ptr().cast();
        msg.msg_controllen = space;
        let hdr = libc::CMSG_FIRSTHDR(&msg);
        if hdr.is_null() {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        (*hdr).cmsg_level = libc::SOL_SOCKET;
        (*hdr).cmsg_type = libc::SCM_RIGHTS;
        (*hdr).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(hdr).cast::<RawFd>(), sock);
        loop {
            let n = libc::sendmsg(self.child_end.as_raw_fd(), &msg, libc::MSG_NOSIGNAL);
            if n >= 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                return Err(err);
            }
        }
    }
}

impl HandoffReceiver {
    /// Takes the listener the child queued. Call after the spawn returned
    /// (the child sends before exec, so it is there or never comes).
    pub fn receive(self) -> Result<std::net::TcpListener, HandoffError> {
        let mut byte = [0u8; 1];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        let mut cmsg = CmsgBuf([0; 64]);
        // SAFETY: msghdr is plain data; every pointer set below outlives recvmsg.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.0.as_mut_ptr().cast();
        msg.msg_controllen = cmsg.0.len();
        // SAFETY: a valid msghdr on an fd we own; MSG_CMSG_CLOEXEC marks the
        // received fd close-on-exec so no later child inherits it.
        let n = unsafe {
            libc::recvmsg(
                self.parent_end.as_raw_fd(),
                &mut msg,
                libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC,
            )
        };
        if n < 0 {
            return Err(HandoffError::NotReceived(io::Error::last_os_error()));
        }
        if n == 0 {
            return Err(HandoffError::NotReceived(io::Error::from(
                io::ErrorKind::UnexpectedEof,
            )));
        }
        // SAFETY: the kernel filled msg_control; the CMSG macros walk it
        // within msg_controllen.
        unsafe {
            let mut hdr = libc::CMSG_FIRSTHDR(&msg);
            while !hdr.is_null() {
                if (*hdr).cmsg_level == libc::SOL_SOCKET && (*hdr).cmsg_type == libc::SCM_RIGHTS {
                    let fd = std::ptr::read_unaligned(libc::CMSG_DATA(hdr).cast::<RawFd>());
                    return Ok(std::net::TcpListener::from_raw_fd(fd));
                }
                hdr = libc::CMSG_NXTHDR(&msg, hdr);
            }
        }
        Err(HandoffError::NoSocket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_survives_the_hand_off() {
        let (rx, tx) = handoff().expect("socketpair");
        // Without a fresh namespace the fixed port may be taken; use port 0.
        let mut tx = tx;
        tx.addr.sin_port = 0;
        tx.create_and_send().expect("send");
        // create_and_send closed the child's end already (as in the child).
        std::mem::forget(tx);
        let listener = rx.receive().expect("receive");
        let addr = listener.local_addr().expect("local addr");
        assert!(addr.ip().is_loopback());
        let client = std::net::TcpStream::connect(addr).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        assert_eq!(
            server.peer_addr().expect("peer").port(),
            client.local_addr().expect("local").port()
        );
    }

    #[test]
    fn nothing_sent_is_an_error_not_a_hang() {
        let (rx, tx) = handoff().expect("socketpair");
        drop(tx);
        assert!(matches!(rx.receive(), Err(HandoffError::NotReceived(_))));
    }
}
