//! Offload state per connection, counters per reason.
