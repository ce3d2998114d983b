//! The small core that owns the daemon's shared state: the event bus every component
//! publishes on, and the status snapshot every server reads.

pub mod disc;
pub mod events;
pub mod problem;
pub mod status;

pub use disc::DiscInfo;
pub use events::{DaemonEvent, EventBus, FinishedFacts};
pub use problem::{Problem, ProblemKind};
pub use status::{StatusHandle, StatusSnapshot};
