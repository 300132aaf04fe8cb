//! A local emulator of the Partner Center API subset `apply` uses (DESIGN §9).
