//! Dropping the memory a never-exec'ing helper inherited from vanguard.
//!
//! The sandbox's supervisor and init are forks of vanguard that only wait
//! and forward signals (see `spawn.rs`). A fork shares vanguard's whole
//! anonymous memory copy-on-write: the helper's RSS starts at the size of
//! vanguard's heap (5–6 MiB), and every page vanguard later changes is
//! copied, so over a long session each helper pins an old version of that
//! heap in real memory. The helpers need none of it: their code path uses
//! only raw syscalls, the stack, the thread's TLS block, static data, and
//! one shared page. So right after the fork each helper tells the kernel to
//! drop its private anonymous mappings (`MADV_DONTNEED`), except:
//!
//! - the stack from two pages below the current frame upwards (the pages
//!   further down, touched by vanguard's deeper calls, go), and the mapping
//!   holding this thread's TLS block and TCB (errno, the stack protector
//!   canary, the rseq area);
//! - anything not private, writable and anonymous: file-backed mappings
//!   (code, relocated data), shared mappings (the progress page), and the
//!   kernel's own (`[vdso]`, `[vvar]`; `[stack]` only as above);
//! - an anonymous mapping that starts where a private file-backed one ends:
//!   that is a binary's or library's `.bss` (statics such as the forwarding
//!   target). A shared mapping never has a `.bss` after it: an anonymous
//!   mapping that happens to lie right above one (the progress page, a
//!   memfd) is ordinary memory. Counting those once kept a 32 MiB heap
//!   mapping that the kernel had placed right above a shared page.
//!
//! Then each helper drops its page-table entries for the loaded objects'
//! read-only and executable segments (vanguard's code and constants, libc's,
//! ld.so's): a fork inherits no entries for those, but shedding and the
//! set-up before it fault in code (and the kernel maps 64 KiB around each
//! fault), ~1 MiB of it in each helper. Those pages are clean page cache
//! that the kernel could reclaim at any moment; dropping the entries only
//! means the wait loop faults back in the few pages it runs. The ranges come
//! from the program headers (`dl_iterate_phdr`), read in vanguard before the
//! fork ([`code_ranges`]): segments without `PF_W`, never a page of a
//! writable or `PT_GNU_RELRO` segment (relocated data is private, not page
//! cache, and must stay), no object with text relocations, not the vDSO.
//!
//! Every rule errs towards keeping a mapping. Only async-signal-safe raw
//! syscalls run (the caller is a child of a multi-threaded process): the
//! maps file is read into a stack buffer and parsed in place. Nothing here
//! may allocate, and nothing after it may touch the heap.

use std::cell::Cell;

/// The most read-only segments kept for the helpers to drop; a process
/// with more (many libraries) drops the first ones found and keeps the rest.
const MAX_CODE_RANGES: usize = 48;

/// Page ranges of loaded objects' read-only segments that hold only page
/// cache (see the module comment), computed before the fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CodeRanges {
    ranges: [(usize, usize); MAX_CODE_RANGES],
    len: usize,
}

impl CodeRanges {
    pub(super) const EMPTY: CodeRanges = CodeRanges {
        ranges: [(0, 0); MAX_CODE_RANGES],
        len: 0,
    };

    fn push(&mut self, range: (usize, usize)) {
        if let Some(slot) = self.ranges.get_mut(self.len) {
            *slot = range;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[(usize, usize)] {
        self.ranges.get(..self.len).unwrap_or(&[])
    }
}

/// One loaded segment, page-aligned outwards. `keep`: writable or RELRO
/// (relocated data lives in private copies, not in page cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    start: usize,
    end: usize,
    keep: bool,
}

/// The droppable parts of one object's segments: each read-only segment,
/// minus every page it shares with a segment that must stay.
fn clean_parts(segments: &[Segment], out: &mut CodeRanges) {
    for s in segments.iter().filter(|s| !s.keep) {
        let (mut start, mut end) = (s.start, s.end);
        for k in segments.iter().filter(|k| k.keep) {
            if k.end <= start || end <= k.start {
                continue;
            }
            if k.start <= start {
                start = start.max(k.end);
            } else if k.end >= end {
                end = end.min(k.start);
            } else {
                // A kept segment in the middle: keep the whole thing.
                end = start;
            }
        }
        if start < end {
            out.push((start, end));
        }
    }
}

/// Reads the program headers of every loaded object, so that helpers
/// forked next can drop their code pages. Call it in vanguard right before
/// the fork (a few microseconds): read afresh, the ranges cannot name an
/// object unloaded since.
#[cfg(target_pointer_width = "64")]
pub(super) fn code_ranges() -> CodeRanges {
    // SAFETY: sysconf and getauxval only read process constants.
    let (page, vdso) = unsafe {
        (
            libc::sysconf(libc::_SC_PAGESIZE),
            libc::getauxval(libc::AT_SYSINFO_EHDR) as usize,
        )
    };
    let page = usize::try_from(page).ok().filter(|p| p.is_power_of_two());
    let Some(page) = page else {
        return CodeRanges::EMPTY;
    };
    let mut state = (CodeRanges::EMPTY, page, vdso);
    // SAFETY: the callback only reads the headers the loader hands it.
    unsafe { libc::dl_iterate_phdr(Some(each_object), std::ptr::addr_of_mut!(state).cast()) };
    state.0
}

#[cfg(not(target_pointer_width = "64"))]
pub(super) fn code_ranges() -> CodeRanges {
    CodeRanges::EMPTY
}

/// `d_tag`/`d_val` of an `Elf64_Dyn`.
#[cfg(target_pointer_width = "64")]
#[repr(C)]
struct Dyn {
    tag: i64,
    val: u64,
}

#[cfg(target_pointer_width = "64")]
const DT_TEXTREL: i64 = 22;
#[cfg(target_pointer_width = "64")]
const DT_FLAGS: i64 = 30;
#[cfg(target_pointer_width = "64")]
const DF_TEXTREL: u64 = 4;

/// # Safety
/// Called by `dl_iterate_phdr` with `data` pointing at code_ranges's state.
#[cfg(target_pointer_width = "64")]
unsafe extern "C" fn each_object(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: per the contract of dl_iterate_phdr and of this function.
    let (info, (out, page, vdso)) =
        unsafe { (&*info, &mut *data.cast::<(CodeRanges, usize, usize)>()) };
    let page = *page;
    let phdrs: &[libc::Elf64_Phdr] = if info.dlpi_phdr.is_null() {
        &[]
    } else {
        // SAFETY: the loader's table of dlpi_phnum headers.
        unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) }
    };
    // The vDSO is the kernel's own mapping, not page cache.
    if *vdso != 0 && (info.dlpi_phdr as usize).wrapping_sub(*vdso) < page {
        return 0;
    }
    let base = info.dlpi_addr as usize;
    let mut segments = [Segment {
        start: 0,
        end: 0,
        keep: true,
    }; 16];
    let mut n = 0;
    for ph in phdrs {
        let start = base.wrapping_add(ph.p_vaddr as usize);
        let end = start.wrapping_add(ph.p_memsz as usize);
        match ph.p_type {
            libc::PT_DYNAMIC => {
                // SAFETY: the object's dynamic section, mapped by the loader
                // and ended by DT_NULL; at most 1,024 entries are read.
                let textrel = (0..1024)
                    .map(|i| unsafe { &*(start as *const Dyn).add(i) })
                    .take_while(|d| d.tag != 0)
                    .any(|d| d.tag == DT_TEXTREL || (d.tag == DT_FLAGS && d.val & DF_TEXTREL != 0));
                if textrel {
                    return 0;
                }
                continue;
            }
            libc::PT_LOAD | libc::PT_GNU_RELRO => {}
            _ => continue,
        }
        if end <= start || start < page {
            continue;
        }
        let Some(slot) = segments.get_mut(n) else {
            // More segments than expected: keep this object whole.
            return 0;
        };
        *slot = Segment {
            start: start & !(page - 1),
            end: end.saturating_add(page - 1) & !(page - 1),
            keep: ph.p_type == libc::PT_GNU_RELRO || ph.p_flags & libc::PF_W != 0,
        };
        n += 1;
    }
    clean_parts(segments.get(..n).unwrap_or(&[]), out);
    0
}

thread_local! {
    /// Its address lies in this thread's static TLS block, next to the TCB.
    static TLS_MARK: Cell<u8> = const { Cell::new(0) };
}

/// One line of `/proc/self/maps`, the fields the decision needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mapping<'a> {
    start: usize,
    end: usize,
    perms: &'a [u8],
    inode: u64,
    path: &'a [u8],
}

fn hex(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let mut v = 0usize;
    for &b in s {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | d as usize;
    }
    Some(v)
}

fn dec(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v = 0u64;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    let from = s.iter().position(|&b| b != b' ').unwrap_or(s.len());
    s.split_at_checked(from).map_or(&[][..], |(_, rest)| rest)
}

/// `start-end perms offset dev inode [path]`; None for anything else.
fn parse(line: &[u8]) -> Option<Mapping<'_>> {
    let mut rest = line;
    let mut field = || {
        rest = skip_spaces(rest);
        let len = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        let (f, r) = rest.split_at_checked(len)?;
        rest = r;
        (!f.is_empty()).then_some(f)
    };
    let range = field()?;
    let perms = field()?;
    let _offset = field()?;
    let _dev = field()?;
    let inode = dec(field()?)?;
    let dash = range.iter().position(|&b| b == b'-')?;
    let (lo, hi) = range.split_at_checked(dash)?;
    let start = hex(lo)?;
    let end = hex(hi.get(1..)?)?;
    let path = skip_spaces(rest);
    (start < end && perms.len() == 4).then_some(Mapping {
        start,
        end,
        perms,
        inode,
        path,
    })
}

/// Whether a mapping may be dropped. `after_file`: it starts exactly where a
/// file-backed mapping ends. `keep`: addresses whose mapping must stay.
fn droppable(m: &Mapping<'_>, after_file: bool, keep: &[usize]) -> bool {
    let anonymous = m.inode == 0 && (m.path.is_empty() || m.path == b"[heap]");
    anonymous
        && m.perms == b"rw-p"
        && !after_file
        && !keep.iter().any(|&a| m.start <= a && a < m.end)
}

/// The stack below the current frame: pages the parent's deeper calls
/// touched, unused here (a later call or a signal frame gets zero pages).
/// Two pages below the stack pointer stay, for the red zone and the frames
/// of the `madvise` call itself. Returns the end of the range to drop.
fn unused_stack(m: &Mapping<'_>, sp: usize) -> Option<usize> {
    let stack = m.inode == 0 && (m.path.is_empty() || m.path == b"[stack]");
    if !stack || m.perms != b"rw-p" || !(m.start <= sp && sp < m.end) {
        return None;
    }
    let top = (sp & !0xfff).checked_sub(2 * 4096)?;
    (top > m.start).then_some(top)
}

/// # Safety
/// `[start, end)` must hold nothing this process reads again.
unsafe fn drop_range(start: usize, end: usize) {
    // SAFETY: per the caller; MADV_DONTNEED on private anonymous memory
    // only discards this process's pages.
    unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
}

fn is_file_backed(m: &Mapping<'_>) -> bool {
    m.inode != 0 || m.path.first().is_some_and(|&b| b != b'[')
}

/// A private mapping of a file: the kind a `.bss` can follow.
fn is_private_file(m: &Mapping<'_>) -> bool {
    is_file_backed(m) && m.perms.get(3) == Some(&b'p')
}

/// Drops this process's droppable mappings and the page-table entries of
/// `code` (see the module comment). Best effort: any failure leaves the
/// rest of memory as it was.
pub(super) fn shed_inherited_memory(code: &CodeRanges) {
    let stack_mark = 0u8;
    let keep = [
        std::ptr::addr_of!(stack_mark) as usize,
        TLS_MARK.with(|m| m as *const Cell<u8> as usize),
    ];
    // SAFETY: open/read/madvise/close on a stack buffer and on ranges the
    // kernel reports as this process's own private anonymous mappings,
    // none of which holds the stack, the TLS block or static data; then
    // madvise on read-only segments that hold nothing but page cache.
    unsafe {
        let fd = libc::open(
            c"/proc/self/maps".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        let mut have = 0usize;
        let mut prev: Option<(usize, bool)> = None;
        while let Some(space) = buf.get_mut(have..) {
            let n = libc::read(fd, space.as_mut_ptr().cast(), space.len());
            if n <= 0 {
                break;
            }
            have += n as usize;
            let mut from = 0;
            while let Some(pending) = buf.get(from..have) {
                let Some(nl) = pending.iter().position(|&b| b == b'\n') else {
                    break;
                };
                if let Some(m) = pending.get(..nl).and_then(parse) {
                    let after_file = prev.is_some_and(|(end, file)| file && end == m.start);
                    if droppable(&m, after_file, &keep) {
                        drop_range(m.start, m.end);
                    } else if let Some(top) = unused_stack(&m, keep[0]) {
                        drop_range(m.start, top);
                    }
                    prev = Some((m.end, is_private_file(&m)));
                } else {
                    // An unreadable line: adjacency is unknown from here.
                    prev = None;
                }
                from += nl + 1;
            }
            if from == 0 && have == buf.len() {
                // One line longer than the buffer (a very long path): stop
                // rather than guess where the next line starts.
                break;
            }
            buf.copy_within(from..have, 0);
            have -= from;
        }
        libc::close(fd);
        for &(start, end) in code.as_slice() {
            // Clean page cache only: a later access faults the same bytes
            // back in from the file, as after reclaim.
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// Drops this process's own page-table entries for the loaded objects'
/// read-only segments, as the helpers do after the fork, and returns the
/// bytes of mappings it asked the kernel to drop.
///
/// For a gateway that has gone quiet: start-up runs code a session never
/// runs again (argument parsing, profile loading, regex compilation,
/// sandbox planning), and the kernel maps 64 KiB around each page it faults
/// in. With the functions a session runs laid out together (`scripts/
/// build.rs`), what the next call faults back in is that one block.
///
/// Runs where the process may allocate (not in a fork's child). A mapping
/// is dropped only where `/proc/self/smaps` shows it private, read-only and
/// holding no anonymous page: a page the process changed (a debugger's
/// breakpoint, a uprobe) is no longer page cache and stays.
pub(crate) fn release_code_pages() -> usize {
    let code = code_ranges();
    let Ok(smaps) = std::fs::read("/proc/self/smaps") else {
        return 0;
    };
    let mut dropped = 0;
    for (mapping, anonymous_kib) in smaps_anonymous(&smaps) {
        let read_only = matches!(mapping.perms, b"r--p" | b"r-xp");
        if anonymous_kib != Some(0) || !read_only || !is_file_backed(&mapping) {
            continue;
        }
        for &(start, end) in code.as_slice() {
            let (lo, hi) = (start.max(mapping.start), end.min(mapping.end));
            if lo < hi {
                // SAFETY: a private read-only file mapping with no changed
                // page, inside a segment that holds only page cache: the
                // next access reads the same bytes back from the file.
                unsafe { drop_range(lo, hi) };
                dropped += hi - lo;
            }
        }
    }
    dropped
}

/// Each mapping of an smaps text with its `Anonymous:` figure (KiB), if
/// the text gives one.
fn smaps_anonymous(smaps: &[u8]) -> Vec<(Mapping<'_>, Option<u64>)> {
    let mut out: Vec<(Mapping<'_>, Option<u64>)> = Vec::new();
    for line in smaps.split(|&b| b == b'\n') {
        if let Some(field) = line.strip_prefix(b"Anonymous:") {
            let kib = skip_spaces(field)
                .split(|&b| b == b' ')
                .next()
                .and_then(dec);
            if let Some(last) = out.last_mut() {
                last.1 = kib;
            }
        } else if let Some(m) = parse(line) {
            out.push((m, None));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_lines_the_kernel_writes() {
        let m = parse(b"7f2c1a000000-7f2c1a021000 rw-p 00000000 00:00 0 ").unwrap();
        assert_eq!(
            (m.start, m.end, m.perms, m.inode, m.path),
            (0x7f2c1a000000, 0x7f2c1a021000, &b"rw-p"[..], 0, &b""[..])
        );
        let m = parse(
            b"55d0c0a00000-55d0c0b00000 rw-p 00000000 00:00 0                          [heap]",
        )
        .unwrap();
        assert_eq!(m.path, b"[heap]");
        let m = parse(b"55d0bf000000-55d0bf800000 r-xp 00100000 fe:01 1234567                    /usr/bin/vanguard (deleted)").unwrap();
        assert_eq!(
            (m.inode, m.path),
            (1234567, &b"/usr/bin/vanguard (deleted)"[..])
        );
        assert_eq!(parse(b"garbage"), None);
        assert_eq!(parse(b"10-5 rw-p 0 00:00 0"), None);
    }

    #[test]
    fn keeps_everything_but_plain_private_anonymous_memory() {
        let line = |s: &'static [u8]| parse(s).unwrap();
        let heap = line(b"1000-9000 rw-p 00000000 00:00 0 [heap]");
        let anon = line(b"a000-b000 rw-p 00000000 00:00 0");
        assert!(droppable(&heap, false, &[]));
        assert!(droppable(&anon, false, &[]));
        // .bss right after a binary's data
        assert!(!droppable(&anon, true, &[]));
        // the stack pointer or the TLS block inside it
        assert!(!droppable(&anon, false, &[0xa800]));
        assert!(droppable(&anon, false, &[0xb000]));
        for kept in [
            &b"c000-d000 rw-p 00000000 00:00 0 [stack]"[..],
            b"c000-d000 rw-s 00000000 00:01 77 /dev/zero (deleted)",
            b"c000-d000 rw-s 00000000 00:00 0",
            b"c000-d000 rw-p 00020000 fe:01 99 /usr/lib/libc.so.6",
            b"c000-d000 r-xp 00020000 fe:01 99 /usr/lib/libc.so.6",
            b"c000-d000 r--p 00000000 00:00 0",
            b"c000-d000 ---p 00000000 00:00 0",
            b"c000-d000 r--p 00000000 00:00 0 [vvar]",
        ] {
            assert!(
                !droppable(&line(kept), false, &[]),
                "{}",
                String::from_utf8_lossy(kept)
            );
        }
        assert!(is_file_backed(&line(
            b"c000-d000 rw-p 00020000 fe:01 99 /usr/lib/libc.so.6"
        )));
        assert!(!is_file_backed(&heap));
        // A .bss follows a private file mapping, never a shared one.
        assert!(is_private_file(&line(
            b"c000-d000 rw-p 00020000 fe:01 99 /usr/lib/libc.so.6"
        )));
        for shared in [
            &b"c000-d000 rw-s 00000000 00:01 77 /dev/zero (deleted)"[..],
            b"c000-d000 rw-s 00000000 00:01 78 /memfd:vanguard-progress (deleted)",
        ] {
            assert!(!is_private_file(&line(shared)));
        }
        let stack = line(b"10000-30000 rw-p 00000000 00:00 0 [stack]");
        assert_eq!(unused_stack(&stack, 0x2c123), Some(0x2a000));
        assert_eq!(unused_stack(&stack, 0x11123), None);
        assert_eq!(unused_stack(&stack, 0x30000), None);
        assert_eq!(unused_stack(&anon, 0xa800), None);
        assert_eq!(
            unused_stack(&line(b"10000-30000 rw-p 00000000 00:00 0"), 0x2f000),
            Some(0x2d000)
        );
    }

    /// In a forked child (this test process is multi-threaded, as vanguard
    /// is): after shedding, a large anonymous buffer is gone from RSS, while
    /// the stack, statics, TLS and a shared page still hold their values.
    /// The buffer lies right above a shared page, the layout that once made
    /// it pass for a `.bss` (a flake whenever the kernel placed another
    /// test's shared page there).
    #[test]
    fn a_forked_child_sheds_its_heap_and_keeps_what_it_uses() {
        static STATIC_VALUE: std::sync::atomic::AtomicUsize =
            std::sync::atomic::AtomicUsize::new(0);
        STATIC_VALUE.store(0x5eed, std::sync::atomic::Ordering::SeqCst);
        TLS_MARK.with(|m| m.set(42));
        const BIG: usize = 32 << 20;
        // SAFETY: a fresh private anonymous mapping, then a shared page
        // placed over its first page; both stay mapped in this process
        // until the munmap at the end.
        let (base, big) = unsafe {
            let base = libc::mmap(
                std::ptr::null_mut(),
                BIG + 4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(base, libc::MAP_FAILED);
            let shared = libc::mmap(
                base,
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            );
            assert_eq!(shared, base);
            let big = std::slice::from_raw_parts_mut(base.cast::<u8>().add(4096), BIG);
            big.fill(7);
            (base, big)
        };
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let above_shared = maps
            .lines()
            .filter_map(parse_str)
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| w[0].2.ends_with('s') && w[1].0 == base as usize + 4096 && w[0].1 == w[1].0);
        assert!(above_shared, "layout not as planned:\n{maps}");
        let progress = super::super::spawn::Progress::new().unwrap();
        let rss = || -> u64 {
            let s = std::fs::read_to_string("/proc/self/statm").unwrap();
            s.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 4096
        };
        assert!(rss() > BIG as u64);
        let verdict = progress.raw_slot(1);
        let rss_kib = progress.raw_slot(2);
        // SAFETY: fork; the child only runs the shedding, reads, and _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let stack_value = std::hint::black_box(0xabcdu32);
            shed_inherited_memory(&CodeRanges::EMPTY);
            let rss_after;
            // statm through raw syscalls: no heap any more.
            // SAFETY: open/read into a stack buffer.
            unsafe {
                let fd = libc::open(c"/proc/self/statm".as_ptr(), libc::O_RDONLY);
                let mut b = [0u8; 128];
                let n = libc::read(fd, b.as_mut_ptr().cast(), b.len());
                let mut fields = b[..n.max(0) as usize].split(|&c| c == b' ');
                fields.next();
                rss_after =
                    dec(fields.next().unwrap_or(b"")).map_or(u64::MAX, |p| p.saturating_mul(4096));
            }
            // One bit per failed check, so the parent can say which.
            let failed = u32::from(rss_after >= 8 << 20)
                | u32::from(stack_value != 0xabcd) << 1
                | u32::from(STATIC_VALUE.load(std::sync::atomic::Ordering::SeqCst) != 0x5eed) << 2
                | u32::from(TLS_MARK.with(|m| m.get()) != 42) << 3;
            // SAFETY: the shared page from Progress::new, mapped in both.
            unsafe {
                (*rss_kib).store(
                    (rss_after / 1024) as u32,
                    std::sync::atomic::Ordering::SeqCst,
                );
                (*verdict).store(0x100 | failed, std::sync::atomic::Ordering::SeqCst);
                libc::_exit(i32::from(failed != 0));
            }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        // SAFETY: as above.
        let (failed, rss_kib) = unsafe {
            (
                (*verdict).load(std::sync::atomic::Ordering::SeqCst),
                (*rss_kib).load(std::sync::atomic::Ordering::SeqCst),
            )
        };
        assert_eq!(
            failed, 0x100,
            "child checks failed (bits: 1 RSS, 2 stack, 4 static, 8 TLS); \
             its RSS after shedding {rss_kib} KiB, status {status:#x}"
        );
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        // The parent's memory is untouched.
        assert!(big.iter().step_by(4096).all(|&b| b == 7));
        // SAFETY: the mapping made above; `big` is not used after this.
        unsafe { libc::munmap(base, BIG + 4096) };
    }

    #[test]
    fn read_only_parts_stop_at_pages_that_must_stay() {
        let seg = |start: usize, end: usize, keep: bool| Segment { start, end, keep };
        let mut out = CodeRanges::EMPTY;
        // headers+rodata, text, then relro and data; the text's last page
        // is shared with the relro segment's first (an unpadded layout).
        clean_parts(
            &[
                seg(0x0000, 0x3000, false),
                seg(0x3000, 0x9000, false),
                seg(0x8000, 0xa000, true),
                seg(0x8000, 0xc000, true),
            ],
            &mut out,
        );
        assert_eq!(out.as_slice(), &[(0x0000, 0x3000), (0x3000, 0x8000)]);
        // A kept segment at the start, and one in the middle.
        let mut out = CodeRanges::EMPTY;
        clean_parts(
            &[
                seg(0x1000, 0x5000, false),
                seg(0x0000, 0x2000, true),
                seg(0x7000, 0x9000, false),
                seg(0x7800, 0x8000, true),
            ],
            &mut out,
        );
        assert_eq!(out.as_slice(), &[(0x2000, 0x5000)]);
        // Overflow keeps the rest rather than failing.
        let mut out = CodeRanges::EMPTY;
        for i in 0..MAX_CODE_RANGES + 3 {
            out.push((i, i + 1));
        }
        assert_eq!(out.as_slice().len(), MAX_CODE_RANGES);
    }

    /// The safety property of dropping code pages: every range lies in
    /// read-only mappings holding no private (anonymous) page, and the
    /// ranges do cover this program's code, its constants and libc's code.
    /// Held by tests that change or inspect the code mappings' private
    /// pages, so none sees another's changed page.
    static PRIVATE_PAGES: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn code_ranges_hold_only_page_cache() {
        let _private = PRIVATE_PAGES.lock().unwrap_or_else(|p| p.into_inner());
        let code = code_ranges();
        assert!(code.len >= 3, "{code:?}");
        let covered = |a: usize| code.as_slice().iter().any(|&(s, e)| s <= a && a < e);
        assert!(covered(shed_inherited_memory as *const () as usize));
        assert!(covered(libc::getpid as *const () as usize));
        static CONSTANT: [u8; 4] = *b"shed";
        assert!(covered(std::hint::black_box(&CONSTANT).as_ptr() as usize));
        static WRITABLE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
        assert!(!covered(std::ptr::addr_of!(WRITABLE) as usize));
        let smaps = std::fs::read("/proc/self/smaps").unwrap();
        let mut checked = 0;
        for (m, kib) in smaps_anonymous(&smaps) {
            let overlaps = code
                .as_slice()
                .iter()
                .any(|&(s, e)| s < m.end && m.start < e);
            if !overlaps {
                continue;
            }
            checked += 1;
            let line = String::from_utf8_lossy(m.path);
            assert_eq!(kib, Some(0), "private pages in {line} {:x}", m.start);
            assert_ne!(
                m.perms.get(1),
                Some(&b'w'),
                "writable: {line} {:x}",
                m.start
            );
            assert!(is_private_file(&m), "not a private file mapping: {line}");
        }
        assert!(checked >= 3);
    }

    /// A forked child that ran through all of its code pages drops them
    /// when shedding, and what it runs afterwards faults back in and works.
    #[test]
    fn a_forked_child_drops_code_pages_and_still_runs() {
        let code = code_ranges();
        let total: usize = code.as_slice().iter().map(|&(s, e)| e - s).sum();
        assert!(total > 4 << 20, "{total} bytes of code");
        let progress = super::super::spawn::Progress::new().unwrap();
        let report = progress.raw_slot(1);
        let file_kib = |fd_path: &std::ffi::CStr| -> u64 {
            // statm's third field: resident file-backed and shared pages,
            // read with raw syscalls (the child must not allocate).
            // SAFETY: open/read/close on a stack buffer.
            unsafe {
                let fd = libc::open(fd_path.as_ptr(), libc::O_RDONLY);
                let mut b = [0u8; 128];
                let n = libc::read(fd, b.as_mut_ptr().cast(), b.len());
                libc::close(fd);
                let mut fields = b[..n.max(0) as usize].split(|&c| c == b' ');
                fields.nth(2).and_then(dec).map_or(u64::MAX, |p| p * 4)
            }
        };
        // SAFETY: fork; the child reads its own code, sheds and _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let mut sum = 0u8;
            for &(s, e) in code.as_slice() {
                for a in (s..e).step_by(4096) {
                    // SAFETY: a readable page of a loaded segment.
                    sum = sum.wrapping_add(unsafe { std::ptr::read_volatile(a as *const u8) });
                }
            }
            std::hint::black_box(sum);
            let before = file_kib(c"/proc/self/statm");
            shed_inherited_memory(&code);
            let after = file_kib(c"/proc/self/statm");
            // Code runs again after the drop: parse and format-free checks.
            let works = parse(b"1000-2000 r-xp 0 00:00 0").is_some() && hex(b"ff") == Some(255);
            let ok = before > (total as u64 / 1024) / 2 && after < 2048 && works;
            // SAFETY: the shared page from Progress::new, mapped in both.
            unsafe {
                (*report).store(
                    ((after.min(0xffff) as u32) << 8) | 0x80 | u32::from(ok),
                    std::sync::atomic::Ordering::SeqCst,
                );
                libc::_exit(i32::from(!ok));
            }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        // SAFETY: as above.
        let r = unsafe { (*report).load(std::sync::atomic::Ordering::SeqCst) };
        assert_eq!(
            r & 0xff,
            0x81,
            "child: file-backed RSS after shedding {} KiB of {} KiB of code, status {status:#x}",
            r >> 8,
            total / 1024
        );
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }

    #[test]
    fn smaps_figures_belong_to_the_mapping_above_them() {
        let text = b"55d0bf000000-55d0bf800000 r-xp 00100000 fe:01 1234 /usr/bin/vanguard
Size:               8192 kB
Anonymous:             0 kB
7f0000-7f1000 rw-p 00000000 00:00 0 
Anonymous:            12 kB
7f2000-7f3000 r--p 00000000 fe:01 99 /usr/lib/x.so
Rss:                   4 kB
VmFlags: rd mr mw me
";
        let c = smaps_anonymous(text);
        let got: Vec<(usize, Option<u64>)> = c.iter().map(|(m, a)| (m.start, *a)).collect();
        assert_eq!(
            got,
            vec![
                (0x55d0bf000000, Some(0)),
                (0x7f0000, Some(12)),
                (0x7f2000, None)
            ]
        );
    }

    /// Read-only data of the test binary: lands in a read-only segment.
    static CONSTANTS: [u8; 3 * 4096] = [7; 3 * 4096];

    /// Releasing in a running, multi-threaded process: the mapped code
    /// goes, what runs next faults back in, and a page the process changed
    /// (as a debugger's breakpoint does) is kept with its change.
    #[test]
    fn releasing_code_drops_clean_pages_and_keeps_changed_ones() {
        let file_kib = || {
            let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
            statm.split(' ').nth(2).unwrap().parse::<u64>().unwrap() * 4
        };
        let _private = PRIVATE_PAGES.lock().unwrap_or_else(|p| p.into_inner());
        // A whole page inside CONSTANTS, changed through a writable window.
        let base = std::hint::black_box(CONSTANTS.as_ptr()) as usize;
        let page = (base + 4095) & !4095;
        assert!(page + 4096 <= base + CONSTANTS.len());
        // SAFETY: the page lies inside CONSTANTS, which nothing else reads
        // by reference; every access below is volatile through a pointer.
        unsafe {
            assert_eq!(
                libc::mprotect(
                    page as *mut libc::c_void,
                    4096,
                    libc::PROT_READ | libc::PROT_WRITE
                ),
                0
            );
            std::ptr::write_volatile(page as *mut u8, 42);
            assert_eq!(
                libc::mprotect(page as *mut libc::c_void, 4096, libc::PROT_READ),
                0
            );
        }
        // Map all code first, so there is something to drop.
        let code = code_ranges();
        let mut sum = 0u8;
        for &(s, e) in code.as_slice() {
            for a in (s..e).step_by(4096) {
                // SAFETY: a readable page of a loaded segment.
                sum = sum.wrapping_add(unsafe { std::ptr::read_volatile(a as *const u8) });
            }
        }
        std::hint::black_box(sum);
        let before = file_kib();
        let dropped = release_code_pages();
        let after = file_kib();
        assert!(dropped > 4 << 20, "dropped {dropped} bytes");
        // Other tests run meanwhile and fault some code back in.
        assert!(
            after < before / 2,
            "file-backed RSS {before} KiB -> {after} KiB"
        );
        // SAFETY: as above; reads of pages inside CONSTANTS.
        let (changed, clean) = unsafe {
            (
                std::ptr::read_volatile(page as *const u8),
                std::ptr::read_volatile((base + CONSTANTS.len() - 1) as *const u8),
            )
        };
        assert_eq!(
            changed, 42,
            "the changed page went back to the file's bytes"
        );
        assert_eq!(clean, 7);
        assert!(parse(b"1000-2000 r-xp 0 00:00 0").is_some());
        // Dropping the changed page itself is what the check prevents: it
        // goes back to the file's bytes (and leaves no private page for
        // the other tests).
        // SAFETY: the page inside CONSTANTS changed above.
        let reverted = unsafe {
            drop_range(page, page + 4096);
            std::ptr::read_volatile(page as *const u8)
        };
        assert_eq!(reverted, 7);
    }

    /// `start end perms` of a maps line, for the layout check.
    fn parse_str(line: &str) -> Option<(usize, usize, String)> {
        let m = parse(line.as_bytes())?;
        Some((
            m.start,
            m.end,
            String::from_utf8_lossy(m.perms).into_owned(),
        ))
    }
}
