//! A frame as the emulated NIC sees it.
