//! Integration tests of `cspmove apply`.
