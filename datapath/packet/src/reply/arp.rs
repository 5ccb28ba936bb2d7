//! ARP reply to a request for an address we own.

use dpuflow_net::MacAddr;

use crate::edit::EditError;
use crate::frame::Frame;
use crate::ip::{answer_macs, ether_type_before, put16, ETH_ARP};
use crate::parse::{Headers, L3};

const REQUEST: u16 = 1;
const REPLY: u16 = 2;

/// Turns an ARP request into the reply from `our_mac`, as OVN's ARP
/// responder does: the frame goes back to its Ethernet source, the
/// operation becomes reply, our MAC and the asked address become the
/// sender, the asker the target. The frame keeps its length (padding and
/// tags included).
///
/// # Errors
/// [`EditError::NotApplicable`] when `h` is not an ARP request,
/// [`EditError::Inconsistent`] / [`EditError::Truncated`] when the frame
/// does not hold the ARP packet `h` describes.
pub fn arp_reply<F: Frame + ?Sized>(
    frame: &mut F,
    h: &Headers,
    our_mac: MacAddr,
) -> Result<(), EditError> {
    let L3::Arp(arp) = h.l3 else {
        return Err(EditError::NotApplicable);
    };
    if arp.operation != REQUEST {
        return Err(EditError::NotApplicable);
    }
    let b = frame.bytes_mut();
    let a = usize::from(h.l3_offset);
    if ether_type_before(b, a) != Some(ETH_ARP) {
        return Err(EditError::Inconsistent);
    }
    if b.len() < a + 28 {
        return Err(EditError::Truncated);
    }
    // Ethernet, IPv4, 6- and 4-byte addresses, a request.
    if b[a..a + 8] != [0, 1, 8, 0, 6, 4, 0, 1] {
        return Err(EditError::Inconsistent);
    }
    let mut asker = [0u8; 10];
    asker.copy_from_slice(&b[a + 8..a + 18]);
    put16(b, a + 6, REPLY);
    b[a + 8..a + 14].copy_from_slice(&our_mac.0);
    b.copy_within(a + 24..a + 28, a + 14);
    b[a + 18..a + 28].copy_from_slice(&asker);
    answer_macs(b, our_mac);
    Ok(())
}
