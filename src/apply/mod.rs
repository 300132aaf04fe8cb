//! Carrying a plan out through the Partner Center API, exactly once (DESIGN §8).
