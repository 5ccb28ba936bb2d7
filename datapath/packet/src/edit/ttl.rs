//! TTL / hop limit decrement, as a router forwards.

use crate::checksum;
use crate::edit::EditError;
use crate::frame::Frame;
use crate::ip::{be16, ip_at, put16};
use crate::parse::Headers;

/// Decrements the IPv4 TTL (updating the header checksum incrementally)
/// or the IPv6 hop limit of the packet `h` describes. The value is read
/// from the frame, so earlier edits with the same `h` do not matter.
///
/// # Errors
/// [`EditError::TtlExpired`] (frame unchanged) when it is 1 or 0: the
/// caller answers time exceeded ([`crate::reply::icmp_error`]) or drops.
/// [`EditError::NotApplicable`] for a frame that is not IP,
/// [`EditError::Inconsistent`] / [`EditError::Truncated`] when the frame
/// does not match `h`.
pub fn decrement_ttl<F: Frame + ?Sized>(frame: &mut F, h: &Headers) -> Result<(), EditError> {
    let b = frame.bytes_mut();
    let ip = ip_at(b, h)?;
    let at = ip.l3 + if ip.v6 { 7 } else { 8 };
    if b[at] <= 1 {
        return Err(EditError::TtlExpired);
    }
    if ip.v6 {
        b[at] -= 1;
    } else {
        // TTL shares its 16-bit word with the protocol.
        let old = be16(b, at);
        b[at] -= 1;
        let hc = be16(b, ip.l3 + 10);
        put16(b, ip.l3 + 10, checksum::update16(hc, old, be16(b, at)));
    }
    Ok(())
}
