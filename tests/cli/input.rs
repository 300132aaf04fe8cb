//! Integration tests of reading inputs (CSV, Excel, encodings, headers, dates).
