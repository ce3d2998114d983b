//! The OS calls, and the only `unsafe` of the Linux monitor: the `CDROM_DRIVE_STATUS` and
//! `CDROM_DISC_STATUS` ioctls on an `O_RDONLY | O_NONBLOCK` descriptor (non-blocking so a
//! drive with no disc can be opened at all, and no filesystem is read), and the
//! `NETLINK_KOBJECT_UEVENT` socket the kernel multicasts its uevents on.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use tokio::io::unix::AsyncFd;

use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, socket,
};

mod ioctls {
    nix::ioctl_write_int_bad!(
        /// `CDROM_DRIVE_STATUS` (0x5326): the argument is a slot, `CDSL_CURRENT` for the
        /// drive itself.
        cdrom_drive_status,
        0x5326
    );
    nix::ioctl_none_bad!(
        /// `CDROM_DISC_STATUS` (0x5327): audio, data, mixed, no disc.
        cdrom_disc_status,
        0x5327
    );
}

/// `CDSL_CURRENT` from `<linux/cdrom.h>`: `INT_MAX`.
const CDSL_CURRENT: i32 = i32::MAX;

/// Kernel uevent multicast group.
const KERNEL_GROUP: u32 = 1;

fn open_drive(device: &Path) -> io::Result<std::fs::File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(device)
}

/// `CDROM_DRIVE_STATUS` of the drive (`CDS_*` values, see `uevent_rules`).
pub fn drive_status(device: &Path) -> io::Result<i32> {
    let file = open_drive(device)?;
    // SAFETY: the descriptor is open for the whole call (`file` outlives it); this ioctl
    // takes an integer argument by value and writes through no pointer.
    let status = unsafe { ioctls::cdrom_drive_status(file.as_raw_fd(), CDSL_CURRENT) };
    status.map_err(io::Error::from)
}

/// `CDROM_DISC_STATUS` of the drive (`CDS_AUDIO`, `CDS_DATA_1`, …).
pub fn disc_status(device: &Path) -> io::Result<i32> {
    let file = open_drive(device)?;
    // SAFETY: the descriptor is open for the whole call; this ioctl takes no argument.
    let status = unsafe { ioctls::cdrom_disc_status(file.as_raw_fd()) };
    status.map_err(io::Error::from)
}

/// A non-blocking netlink socket bound to the kernel's uevent group.
pub fn uevent_socket() -> io::Result<OwnedFd> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkKObjectUEvent,
    )?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, KERNEL_GROUP))?;
    Ok(fd)
}

/// The uevent socket registered with the current tokio reactor (call inside a runtime
/// with I/O enabled).
pub fn async_uevent_socket() -> io::Result<AsyncFd<OwnedFd>> {
    let fd = uevent_socket()?;
    // SAFETY: `OwnedFd` owns the descriptor, so it stays open and refers to the same socket
    // for as long as the `AsyncFd` that takes ownership of it lives, and `as_raw_fd` always
    // returns that same descriptor.
    let registered = unsafe { AsyncFd::register(fd) };
    Ok(registered?)
}

/// Reads one datagram into `buf`; `WouldBlock` when none is waiting.
pub fn recv_uevent(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    Ok(recv(fd.as_raw_fd(), buf, MsgFlags::empty())?)
}
