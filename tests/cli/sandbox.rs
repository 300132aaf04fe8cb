//! Integration tests of `cspmove sandbox`.
