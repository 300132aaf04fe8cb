//! Integration tests of `cspmove report`.
