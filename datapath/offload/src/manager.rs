//! The offload manager.
