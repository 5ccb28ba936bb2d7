//! An mbuf as the engine's [`Frame`]: the first segment's data, grown and
//! shrunk through DPDK's prepend/adj/append/trim. The workers only hand
//! contiguous (single-segment) mbufs to the engine.

use dpuflow_dpdk::Mbuf;
use dpuflow_packet::Frame;

/// A single-segment mbuf, borrowed for one trip through the pipeline.
#[derive(Debug)]
pub struct MbufFrame<'a>(pub &'a mut Mbuf);

impl Frame for MbufFrame<'_> {
    #[inline]
    fn bytes(&self) -> &[u8] {
        self.0.data()
    }

    #[inline]
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.0.data_mut()
    }

    #[inline]
    fn push_front(&mut self, n: usize) -> bool {
        u16::try_from(n).is_ok_and(|n| self.0.prepend(n).is_ok())
    }

    #[inline]
    fn pull_front(&mut self, n: usize) -> bool {
        u16::try_from(n).is_ok_and(|n| self.0.adj(n).is_ok())
    }

    #[inline]
    fn push_back(&mut self, n: usize) -> bool {
        u16::try_from(n).is_ok_and(|n| self.0.append(n).is_ok())
    }

    #[inline]
    fn trim_back(&mut self, n: usize) -> bool {
        u16::try_from(n).is_ok_and(|n| self.0.trim(n).is_ok())
    }
}
