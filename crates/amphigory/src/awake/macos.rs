//! macOS: an IOKit power assertion, `PreventUserIdleSystemSleep` named "Amphigory:
//! ripping", taken with `IOPMAssertionCreateWithName` and given back with
//! `IOPMAssertionRelease`. The FFI is this file's alone.

use objc2_core_foundation::CFString;

use super::{AwakeError, Inhibitor};

/// `IOPMAssertionID`.
type AssertionId = u32;
/// `kIOPMAssertionLevelOn`.
const LEVEL_ON: u32 = 255;
/// `kIOReturnSuccess`.
const SUCCESS: i32 = 0;
/// `kIOPMAssertPreventUserIdleSystemSleep` (a `#define` of this string in IOPMLib.h).
const PREVENT_IDLE_SLEEP: &str = "PreventUserIdleSystemSleep";
/// The name Activity Monitor and `pmset -g assertions` show.
const NAME: &str = "Amphigory: ripping";

#[link(name = "IOKit", kind = "framework")]
unsafe extern "C" {
    fn IOPMAssertionCreateWithName(
        assertion_type: &CFString,
        level: u32,
        name: &CFString,
        id: *mut AssertionId,
    ) -> i32;
    fn IOPMAssertionRelease(id: AssertionId) -> i32;
}

/// The assertion while one is held.
#[derive(Debug, Default)]
pub(super) struct PowerAssertion {
    id: Option<AssertionId>,
}

impl Inhibitor for PowerAssertion {
    fn backend(&self) -> &'static str {
        "iokit"
    }

    async fn hold(&mut self, _reason: &str) -> Result<(), AwakeError> {
        if self.id.is_some() {
            return Ok(());
        }
        let kind = CFString::from_static_str(PREVENT_IDLE_SLEEP);
        let name = CFString::from_static_str(NAME);
        let mut id: AssertionId = 0;
        // SAFETY: both strings are live CFStrings for the call; `id` is a valid place for
        // the out parameter. IOKit copies what it keeps.
        let code = unsafe { IOPMAssertionCreateWithName(&kind, LEVEL_ON, &name, &mut id) };
        if code != SUCCESS {
            return Err(AwakeError::IoKit(code));
        }
        self.id = Some(id);
        Ok(())
    }

    fn release(&mut self) {
        if let Some(id) = self.id.take() {
            // SAFETY: `id` came from a successful IOPMAssertionCreateWithName and is
            // released once (taken out of `self.id`).
            let code = unsafe { IOPMAssertionRelease(id) };
            if code != SUCCESS {
                tracing::warn!("IOPMAssertionRelease returned {code:#x}");
            }
        }
    }
}

impl Drop for PowerAssertion {
    fn drop(&mut self) {
        self.release();
    }
}
