//! Ethernet edits: MAC rewrite, 802.1Q push and pop.

use dpuflow_net::MacAddr;

use crate::edit::EditError;
use crate::frame::Frame;
use crate::ip::{be16, put16};
use crate::parse::Vlan;

/// TPID of an 802.1Q tag.
pub const TPID_8021Q: u16 = 0x8100;
/// TPID of an 802.1ad (QinQ service) tag.
pub const TPID_8021AD: u16 = 0x88a8;

const MACS: usize = 12;

/// Rewrites the frame's source and destination MACs.
///
/// # Errors
/// [`EditError::Truncated`] when the frame is shorter than an Ethernet
/// header.
pub fn set_macs<F: Frame + ?Sized>(
    frame: &mut F,
    src: MacAddr,
    dst: MacAddr,
) -> Result<(), EditError> {
    let b = frame.bytes_mut();
    if b.len() < 14 {
        return Err(EditError::Truncated);
    }
    b[..6].copy_from_slice(&dst.0);
    b[6..12].copy_from_slice(&src.0);
    Ok(())
}

/// The tag control information of `vlan`, checked.
pub(crate) fn tci(vlan: Vlan) -> Result<u16, EditError> {
    if vlan.vid > 0x0fff || vlan.pcp > 7 {
        return Err(EditError::InvalidArgument);
    }
    Ok(u16::from(vlan.pcp) << 13 | vlan.vid)
}

/// Pushes an 802.1Q tag (TPID 0x8100, DEI 0) in front of any existing
/// one: the MACs move 4 bytes to the front, everything after them stays.
///
/// # Errors
/// [`EditError::InvalidArgument`] for a VLAN id above 4095 or a PCP above
/// 7, [`EditError::Truncated`] for a frame shorter than an Ethernet header,
/// [`EditError::NoHeadroom`] without 4 bytes of headroom.
pub fn push_vlan<F: Frame + ?Sized>(frame: &mut F, vlan: Vlan) -> Result<(), EditError> {
    let tci = tci(vlan)?;
    if frame.len() < 14 {
        return Err(EditError::Truncated);
    }
    if !frame.push_front(4) {
        return Err(EditError::NoHeadroom);
    }
    let b = frame.bytes_mut();
    b.copy_within(4..4 + MACS, 0);
    put16(b, MACS, TPID_8021Q);
    put16(b, MACS + 2, tci);
    Ok(())
}

/// Pops the outermost VLAN tag (802.1Q or 802.1ad) and returns it.
///
/// # Errors
/// [`EditError::NotApplicable`] when the frame has no tag,
/// [`EditError::Truncated`] when it is cut inside it.
pub fn pop_vlan<F: Frame + ?Sized>(frame: &mut F) -> Result<Vlan, EditError> {
    let b = frame.bytes_mut();
    if b.len() < 14 {
        return Err(EditError::Truncated);
    }
    let tpid = be16(b, MACS);
    if !matches!(tpid, TPID_8021Q | TPID_8021AD) {
        return Err(EditError::NotApplicable);
    }
    if b.len() < 18 {
        return Err(EditError::Truncated);
    }
    let tci = be16(b, MACS + 2);
    b.copy_within(0..MACS, 4);
    if !frame.pull_front(4) {
        // A frame longer than 4 bytes refused to shrink: put it back.
        let b = frame.bytes_mut();
        b.copy_within(4..4 + MACS, 0);
        put16(b, MACS, tpid);
        put16(b, MACS + 2, tci);
        return Err(EditError::Truncated);
    }
    Ok(Vlan {
        vid: tci & 0x0fff,
        pcp: (tci >> 13) as u8,
    })
}
