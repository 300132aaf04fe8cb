//! Integration tests of `cspmove plan`.
