//! Geneve (RFC 8926) as OVN interconnect uses it: a zero-copy view whose
//! constructor checks every length once — the fixed header, the option area
//! the header announces (as IHL bounds IPv4 options) and each option inside
//! it — after which no accessor can panic; and [`GeneveRepr`], the header
//! dpuflow emits.

use std::ops::Range;

/// UDP destination port of Geneve.
pub const GENEVE_PORT: u16 = 6081;
/// Protocol type of an Ethernet payload (Transparent Ethernet Bridging).
pub const PROTO_ETHERNET: u16 = 0x6558;
/// OVN's option class (`OVN_GENEVE_CLASS`).
pub const OVN_CLASS: u16 = 0x0102;
/// OVN's option type (`OVN_GENEVE_TYPE`; the critical bit is set).
pub const OVN_TYPE: u8 = 0x80;
/// Egress keys at or above this are multicast groups (OVN floods ARP to
/// 32768).
pub const OVN_MULTICAST_MIN: u16 = 0x8000;

const HEADER_LEN: usize = 8;
const OPT_HEADER_LEN: usize = 4;
const VNI: Range<usize> = 4..7;

/// Why bytes are not a Geneve header dpuflow accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeneveError {
    /// Fewer than 8 bytes.
    Truncated,
    /// A version other than 0.
    Version,
    /// The announced option area runs past the packet.
    OptionsTooLong,
    /// An option's own length runs past the option area.
    OptionLength,
}

/// The logical ports OVN carries in its option: bit 31 zero, bits 30..16
/// the ingress port key (15 bits), bits 15..0 the egress port key. Between
/// interconnect zones they are the sender's and the receiver's node-ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OvnKeys {
    /// Logical ingress port key (the sender's node-id), 0..=0x7fff.
    pub ingress: u16,
    /// Logical egress port key (the receiver's node-id, or a multicast
    /// group at [`OVN_MULTICAST_MIN`] and above).
    pub egress: u16,
}

impl OvnKeys {
    fn from_word(word: u32) -> Self {
        OvnKeys {
            ingress: ((word >> 16) & 0x7fff) as u16,
            egress: word as u16,
        }
    }

    fn to_word(self) -> u32 {
        (u32::from(self.ingress & 0x7fff) << 16) | u32::from(self.egress)
    }
}

/// One option of a Geneve header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneveOption<'a> {
    /// Option class.
    pub class: u16,
    /// Option type (bit 7: critical).
    pub option_type: u8,
    /// The option's data (a multiple of 4 bytes).
    pub data: &'a [u8],
}

/// A checked Geneve header over `buffer` (the UDP payload).
#[derive(Clone, Copy, Debug)]
pub struct GenevePacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GenevePacket<T> {
    /// Checks every length: after this no accessor can panic.
    ///
    /// # Errors
    /// What is wrong, as [`GeneveError`].
    pub fn new_checked(buffer: T) -> Result<Self, GeneveError> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(GeneveError::Truncated);
        }
        if b[0] >> 6 != 0 {
            return Err(GeneveError::Version);
        }
        let end = HEADER_LEN + usize::from(b[0] & 0x3f) * 4;
        if end > b.len() {
            return Err(GeneveError::OptionsTooLong);
        }
        let mut at = HEADER_LEN;
        while at < end {
            let Some(len) = b.get(at + 3).filter(|_| at + OPT_HEADER_LEN <= end) else {
                return Err(GeneveError::OptionLength);
            };
            let opt_end = at + OPT_HEADER_LEN + usize::from(len & 0x1f) * 4;
            if opt_end > end {
                return Err(GeneveError::OptionLength);
            }
            at = opt_end;
        }
        Ok(GenevePacket { buffer })
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Length of the header with its options.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + usize::from(self.bytes()[0] & 0x3f) * 4
    }

    /// The OAM bit.
    pub fn oam(&self) -> bool {
        self.bytes()[1] & 0x80 != 0
    }

    /// The critical-options bit.
    pub fn critical(&self) -> bool {
        self.bytes()[1] & 0x40 != 0
    }

    /// The payload's protocol type ([`PROTO_ETHERNET`] for OVN).
    pub fn protocol(&self) -> u16 {
        u16::from_be_bytes([self.bytes()[2], self.bytes()[3]])
    }

    /// The 24-bit virtual network identifier.
    pub fn vni(&self) -> u32 {
        let v = &self.bytes()[VNI];
        u32::from_be_bytes([0, v[0], v[1], v[2]])
    }

    /// The options, in order.
    pub fn options(&self) -> impl Iterator<Item = GeneveOption<'_>> {
        let b = self.bytes();
        let end = self.header_len();
        let mut at = HEADER_LEN;
        std::iter::from_fn(move || {
            if at >= end {
                return None;
            }
            // In bounds: new_checked walked these same options.
            let data_end = at + OPT_HEADER_LEN + usize::from(b[at + 3] & 0x1f) * 4;
            let opt = GeneveOption {
                class: u16::from_be_bytes([b[at], b[at + 1]]),
                option_type: b[at + 2],
                data: &b[at + OPT_HEADER_LEN..data_end],
            };
            at = data_end;
            Some(opt)
        })
    }

    /// OVN's logical port keys, when its option (class 0x0102, type 0x80,
    /// 4 bytes) is present.
    pub fn ovn_keys(&self) -> Option<OvnKeys> {
        self.options()
            .find(|o| o.class == OVN_CLASS && o.option_type == OVN_TYPE && o.data.len() == 4)
            .map(|o| {
                OvnKeys::from_word(u32::from_be_bytes([
                    o.data[0], o.data[1], o.data[2], o.data[3],
                ]))
            })
    }

    /// The encapsulated frame.
    pub fn payload(&self) -> &[u8] {
        &self.bytes()[self.header_len()..]
    }
}

/// The Geneve header dpuflow emits towards another zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneveRepr {
    /// Virtual network identifier (24 bits): the transit switch's key.
    pub vni: u32,
    /// OVN's option, when present (always, between zones).
    pub ovn: Option<OvnKeys>,
}

impl GeneveRepr {
    /// Bytes [`GeneveRepr::emit`] writes.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + if self.ovn.is_some() { 8 } else { 0 }
    }

    /// Writes the header into the start of `buf` (at least
    /// [`GeneveRepr::header_len`] bytes) and returns its length, or `None`
    /// when `buf` is too short. With OVN's option the critical bit is set,
    /// as OVN sets it.
    pub fn emit(&self, buf: &mut [u8]) -> Option<usize> {
        let len = self.header_len();
        let out = buf.get_mut(..len)?;
        let opt_words = ((len - HEADER_LEN) / 4) as u8;
        out[0] = opt_words;
        out[1] = if self.ovn.is_some() { 0x40 } else { 0 };
        out[2..4].copy_from_slice(&PROTO_ETHERNET.to_be_bytes());
        out[4..7].copy_from_slice(&self.vni.to_be_bytes()[1..]);
        out[7] = 0;
        if let Some(keys) = self.ovn {
            out[8..10].copy_from_slice(&OVN_CLASS.to_be_bytes());
            out[10] = OVN_TYPE;
            out[11] = 1;
            out[12..16].copy_from_slice(&keys.to_word().to_be_bytes());
        }
        Some(len)
    }
}
