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

/// Loopback ports of the host forwarded into the namespace, at most.
pub const MAX_FORWARDS: usize = 8;
const MAX_SOCKETS: usize = MAX_FORWARDS + 1;

/// The child's half: where to listen and where to send the sockets.
pub struct ListenerHandoff {
    /// The proxy's address first, then each forwarded port's.
    addrs: [libc::sockaddr_in; MAX_SOCKETS],
    count: usize,
    child_end: OwnedFd,
}

impl std::fmt::Debug for ListenerHandoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ListenerHandoff({PROXY_ADDR}:{PROXY_PORT} and {} forwarded ports via fd {})",
            self.count.saturating_sub(1),
            self.child_end.as_raw_fd()
        )
    }
}

/// vanguard's half: the end the listeners arrive on.
#[derive(Debug)]
pub struct HandoffReceiver {
    parent_end: OwnedFd,
    forwards: Vec<u16>,
}

/// What the sandbox hands back: the proxy's listener and one listener per
/// forwarded port (`127.0.0.1:PORT` inside the namespace).
#[derive(Debug)]
pub struct Listeners {
    pub proxy: std::net::TcpListener,
    pub forwards: Vec<(u16, std::net::TcpListener)>,
}

/// Errors of the hand-off, seen from vanguard.
#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    #[error("egress: socketpair for the listener hand-off: {0}")]
    Socketpair(#[source] io::Error),
    #[error("egress: the sandbox did not hand over the proxy listener: {0}")]
    NotReceived(#[source] io::Error),
    #[error("egress: the sandbox sent {got} listening sockets, expected {want}")]
    NoSocket { got: usize, want: usize },
    #[error("egress: at most {MAX_FORWARDS} loopback ports can be forwarded ({0} listed)")]
    TooManyForwards(usize),
}

fn loopback_addr(port: u16) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain data; all-zero is valid.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    addr.sin_family = libc::AF_INET as libc::sa_family_t;
    addr.sin_port = port.to_be();
    addr.sin_addr.s_addr = u32::from(PROXY_ADDR).to_be();
    addr
}

/// Prepares a hand-off: a close-on-exec `AF_UNIX` socketpair, the proxy's
/// address and one `127.0.0.1:PORT` per forwarded port.
pub fn handoff(forwards: &[u16]) -> Result<(HandoffReceiver, ListenerHandoff), HandoffError> {
    if forwards.len() > MAX_FORWARDS {
        return Err(HandoffError::TooManyForwards(forwards.len()));
    }
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
    let mut addrs = [loopback_addr(PROXY_PORT); MAX_SOCKETS];
    for (slot, port) in addrs.iter_mut().skip(1).zip(forwards) {
        *slot = loopback_addr(*port);
    }
    Ok((
        HandoffReceiver {
            parent_end,
            forwards: forwards.to_vec(),
        },
        ListenerHandoff {
            addrs,
            count: forwards.len() + 1,
            child_end,
        },
    ))
}

/// Room for one `cmsghdr` carrying [`MAX_SOCKETS`] fds, aligned like `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 128]);

impl ListenerHandoff {
    /// Creates, binds and listens on every socket in the current network
    /// namespace, sends them to vanguard in one message and closes them
    /// here, so the server never holds a listener. Async-signal-safe: raw
    /// syscalls on stack data.
    pub fn create_and_send(&self) -> io::Result<()> {
        let mut socks = [-1 as RawFd; MAX_SOCKETS];
        let mut result = Ok(());
        for (i, addr) in self.addrs.iter().enumerate().take(self.count) {
            // SAFETY: raw socket syscalls on stack data that outlives each call.
            let made = unsafe { make_listener(addr) };
            match made {
                Ok(fd) => {
                    if let Some(slot) = socks.get_mut(i) {
                        *slot = fd;
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if result.is_ok() {
            // SAFETY: every fd in socks[..count] is an open listening socket.
            result = unsafe { self.send(&socks) };
        }
        for fd in socks {
            if fd >= 0 {
                // SAFETY: closing fds this function opened.
                unsafe { libc::close(fd) };
            }
        }
        // SAFETY: the child's end is ours to close (in the child).
        unsafe { libc::close(self.child_end.as_raw_fd()) };
        result
    }

    /// # Safety
    /// `socks[..self.count]` must be open socket fds.
    unsafe fn send(&self, socks: &[RawFd; MAX_SOCKETS]) -> io::Result<()> {
        let mut byte = [b'L'];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        let mut cmsg = CmsgBuf([0; 128]);
        let payload = (std::mem::size_of::<RawFd>() * self.count) as u32;
        let space = libc::CMSG_SPACE(payload) as usize;
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
        (*hdr).cmsg_len = libc::CMSG_LEN(payload) as usize;
        let data = libc::CMSG_DATA(hdr).cast::<RawFd>();
        for (i, fd) in socks.iter().enumerate().take(self.count) {
            std::ptr::write_unaligned(data.add(i), *fd);
        }
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

/// # Safety
/// Raw syscalls; `addr` must be a valid `sockaddr_in`.
unsafe fn make_listener(addr: &libc::sockaddr_in) -> io::Result<RawFd> {
    let sock = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
    if sock < 0 {
        return Err(io::Error::last_os_error());
    }
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    if libc::bind(sock, (addr as *const libc::sockaddr_in).cast(), len) < 0
        || libc::listen(sock, BACKLOG) < 0
    {
        let e = io::Error::last_os_error();
        libc::close(sock);
        return Err(e);
    }
    Ok(sock)
}

impl HandoffReceiver {
    /// Takes the listeners the child queued. Call after the spawn returned
    /// (the child sends before exec, so they are there or never come).
    pub fn receive(self) -> Result<Listeners, HandoffError> {
        let mut byte = [0u8; 1];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        let mut cmsg = CmsgBuf([0; 128]);
        // SAFETY: msghdr is plain data; every pointer set below outlives recvmsg.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.0.as_mut_ptr().cast();
        msg.msg_controllen = cmsg.0.len();
        // SAFETY: a valid msghdr on an fd we own; MSG_CMSG_CLOEXEC marks the
        // received fds close-on-exec so no later child inherits them.
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
        let mut fds: Vec<OwnedFd> = Vec::new();
        // SAFETY: the kernel filled msg_control; the CMSG macros walk it
        // within msg_controllen, and each fd received is ours.
        unsafe {
            let mut hdr = libc::CMSG_FIRSTHDR(&msg);
            while !hdr.is_null() {
                if (*hdr).cmsg_level == libc::SOL_SOCKET && (*hdr).cmsg_type == libc::SCM_RIGHTS {
                    let header = libc::CMSG_LEN(0) as usize;
                    let count = ((*hdr).cmsg_len as usize).saturating_sub(header)
                        / std::mem::size_of::<RawFd>();
                    let data = libc::CMSG_DATA(hdr).cast::<RawFd>();
                    for i in 0..count {
                        fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))));
                    }
                }
                hdr = libc::CMSG_NXTHDR(&msg, hdr);
            }
        }
        let want = self.forwards.len() + 1;
        if fds.len() != want {
            return Err(HandoffError::NoSocket {
                got: fds.len(),
                want,
            });
        }
        let mut fds = fds.into_iter().map(std::net::TcpListener::from);
        let Some(proxy) = fds.next() else {
            return Err(HandoffError::NoSocket { got: 0, want });
        };
        Ok(Listeners {
            proxy,
            forwards: self.forwards.iter().copied().zip(fds).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_survives_the_hand_off() {
        let (rx, tx) = handoff(&[0, 0]).expect("socketpair");
        // Without a fresh namespace the fixed port may be taken; use port 0.
        let mut tx = tx;
        for a in tx.addrs.iter_mut() {
            a.sin_port = 0;
        }
        tx.create_and_send().expect("send");
        // create_and_send closed the child's end already (as in the child).
        std::mem::forget(tx);
        let got = rx.receive().expect("receive");
        assert_eq!(
            got.forwards.len(),
            2,
            "every forwarded port's listener came"
        );
        for (_, l) in &got.forwards {
            assert!(l.local_addr().expect("addr").ip().is_loopback());
        }
        let listener = got.proxy;
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
    fn too_many_forwards_are_refused() {
        assert!(matches!(
            handoff(&[1; MAX_FORWARDS + 1]),
            Err(HandoffError::TooManyForwards(_))
        ));
    }

    #[test]
    fn nothing_sent_is_an_error_not_a_hang() {
        let (rx, tx) = handoff(&[]).expect("socketpair");
        drop(tx);
        assert!(matches!(rx.receive(), Err(HandoffError::NotReceived(_))));
    }
}
