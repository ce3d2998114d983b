//! Open-file descriptors (SPEC §7.1 "Descriptors"): at start-up the soft `RLIMIT_NOFILE`
//! is raised to the hard limit (capped at 65,536), and the limit is split into a share
//! held back for the daemon's own work — the queue's directory listings and task files,
//! the lease sidecars, the drives, every makemkvcon's pipes, the log — and a budget of
//! clients for the WebSocket and control servers. A flood of clients then meets a full
//! server that refuses politely, never an `EMFILE` in the queue.
//!
//! The numbers are a pure function of the limit ([`FdBudget::for_limit`]) so they are
//! tested without touching the process.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

use crate::servers::{control, ws};

/// The soft limit is never raised above this (SPEC §7.1).
pub const RAISE_CAP: u64 = 65_536;
/// Descriptors always held back from the servers.
pub const MIN_RESERVED: u64 = 64;
/// What macOS accepts as a soft limit when the hard one is "unlimited" (`OPEN_MAX`):
/// asking for more fails with `EINVAL` there.
const FALLBACK_LIMIT: u64 = 10_240;

/// How the limit was split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdBudget {
    /// The soft limit the daemon runs under.
    pub limit: u64,
    /// Held back for the queue, the drives, makemkvcon's pipes and files.
    pub reserved: u64,
    /// The WebSocket server's share.
    pub ws: ServerShare,
    /// The control socket's share.
    pub control: ServerShare,
}

/// One server's share of the descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerShare {
    /// Clients served at once.
    pub clients: usize,
    /// Connections over that being answered "too many clients" at once; any more are
    /// closed without an answer.
    pub refusing: usize,
}

impl ServerShare {
    /// `share` descriptors: an eighth (at most `max_refusing`) for answering refusals,
    /// the rest (at most `max_clients`) for clients.
    fn of(share: u64, max_clients: usize, max_refusing: usize) -> Self {
        let share = usize::try_from(share).unwrap_or(usize::MAX);
        let refusing = (share / 8).min(max_refusing);
        Self {
            clients: (share - refusing).min(max_clients),
            refusing,
        }
    }
}

impl FdBudget {
    /// The split of `limit`: an eighth (at least [`MIN_RESERVED`]) held back; of the rest,
    /// an eighth for the control socket and the remainder for WebSocket clients, each no
    /// more than its server's defaults allow.
    pub fn for_limit(limit: u64) -> Self {
        let reserved = (limit / 8).max(MIN_RESERVED);
        let for_clients = limit.saturating_sub(reserved);
        let control_share = for_clients / 8;
        let ws_defaults = ws::WsServerConfig::default();
        let control_defaults = control::ControlConfig::default();
        Self {
            limit,
            reserved,
            ws: ServerShare::of(
                for_clients - control_share,
                ws_defaults.max_clients,
                ws_defaults.max_refusing,
            ),
            control: ServerShare::of(
                control_share,
                control_defaults.max_connections,
                control_defaults.max_refusing,
            ),
        }
    }
}

/// Raises the soft limit as far as allowed and returns the split of what it now is. When
/// the limit cannot be read the servers keep their defaults' split of 1,024 (the common
/// default), which is the safe side of every platform the daemon runs on.
pub fn raise_and_budget() -> FdBudget {
    let limit = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => raise(soft, hard),
        Err(e) => {
            tracing::warn!("cannot read the open-file limit ({e}); assuming 1024");
            1024
        }
    };
    let budget = FdBudget::for_limit(limit);
    tracing::info!(
        "open-file limit {limit}: up to {} websocket and {} control clients, {} descriptors \
         held back for the queue and the drives",
        budget.ws.clients,
        budget.control.clients,
        budget.reserved
    );
    budget
}

/// Sets the soft limit to `min(hard, RAISE_CAP)`, falling back to [`FALLBACK_LIMIT`]
/// where the kernel refuses more; returns the soft limit in force afterwards.
fn raise(soft: u64, hard: u64) -> u64 {
    let target = hard.min(RAISE_CAP);
    if soft >= target {
        return soft;
    }
    let fallback = FALLBACK_LIMIT.min(target);
    let set = |wanted: u64| setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).map(|()| wanted);
    let outcome = set(target).or_else(|e| {
        if fallback > soft {
            set(fallback)
        } else {
            Err(e)
        }
    });
    match outcome {
        Ok(raised) => {
            tracing::info!("open-file limit raised from {soft} to {raised}");
            raised
        }
        Err(e) => {
            tracing::warn!("cannot raise the open-file limit above {soft} ({e})");
            soft
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_limits_split_as_documented() {
        let b = FdBudget::for_limit(1024);
        assert_eq!(b.reserved, 128);
        // 896 for clients: 112 for the control socket, 784 for websockets.
        assert_eq!(
            b.control,
            ServerShare {
                clients: 104,
                refusing: 8
            }
        );
        assert_eq!(
            b.ws,
            ServerShare {
                clients: 768,
                refusing: 16
            }
        );
        let launchd = FdBudget::for_limit(256);
        assert_eq!(launchd.reserved, MIN_RESERVED);
        assert!(launchd.ws.clients > 100, "{launchd:?}");
        assert!(launchd.control.clients >= 16, "{launchd:?}");
        let big = FdBudget::for_limit(RAISE_CAP);
        assert_eq!(big.ws.clients, ws::WsServerConfig::default().max_clients);
        assert_eq!(
            big.control.clients,
            control::ControlConfig::default().max_connections
        );
    }

    #[test]
    fn every_limit_leaves_the_reserve_untouched() {
        for limit in [
            0,
            1,
            63,
            64,
            65,
            100,
            200,
            256,
            512,
            1000,
            1024,
            4096,
            1 << 20,
        ] {
            let b = FdBudget::for_limit(limit);
            let total = |s: ServerShare| s.clients + s.refusing;
            let used = u64::try_from(total(b.ws) + total(b.control)).unwrap();
            assert!(b.reserved >= MIN_RESERVED, "{b:?}");
            assert!(
                used <= limit.saturating_sub(b.reserved),
                "limit {limit}: {b:?} uses {used}"
            );
        }
    }

    #[test]
    fn raising_never_lowers() {
        assert_eq!(raise(4096, 1024), 4096);
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert!(raise(soft, hard) >= soft);
    }
}
