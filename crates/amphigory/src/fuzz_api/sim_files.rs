//! The simulated drives' files: `sim<N>.json` (written by the rig and by the simulated
//! makemkvcon, read by both and by the simulated drive monitor) and `sim<N>.pid`.

use super::{Violation, ensure};
use crate::sim::Fault;
use crate::sim::state::{decode_state, encode_state, parse_pids};

const SIM: &str = "sim state";

/// `data` as a state file ([`decode_state`]), as a `--sim-fault` value, and as a pid
/// file. A state read must survive the writer ([`encode_state`]) unchanged; a fault must
/// print as text that parses back to it.
pub fn sim_state(data: &[u8]) -> Result<(), Violation> {
    if let Ok(state) = decode_state(data) {
        let written = encode_state(&state).map_err(|e| Violation {
            decoder: SIM,
            property: format!("{state:?} cannot be written: {e}"),
        })?;
        let again = decode_state(&written).ok();
        ensure(again.as_ref() == Some(&state), SIM, || {
            let written = String::from_utf8_lossy(&written);
            format!("{state:?} written as {written} reads back as {again:?}")
        })?;
        if let Some(fault) = state.fault {
            check_fault(fault)?;
        }
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(fault) = text.parse::<Fault>() {
        check_fault(fault)?;
    }
    let _ = parse_pids(&text);
    Ok(())
}

fn check_fault(fault: Fault) -> Result<(), Violation> {
    let printed = fault.to_string();
    let again = printed.parse::<Fault>().ok();
    // A fault without a percentage prints without one: it comes back at the default.
    let same = again.is_some_and(|f| {
        f.kind == fault.kind && (!fault.kind.has_percent() || f.percent == fault.percent)
    });
    ensure(same, SIM, || {
        format!("{fault:?} printed as {printed:?} parses to {again:?}")
    })
}
