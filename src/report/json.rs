//! `.json`: the plan itself, pretty-printed (DESIGN §6), written customer by customer.
//!
//! The bytes are exactly what `serde_json::to_vec_pretty` writes for the whole plan (a
//! test holds it to that): the head is pretty-printed without its closing brace, each
//! customer is pretty-printed on its own and indented by the list's depth (JSON strings
//! hold no raw line breaks, so indenting after every `\n` is safe).

use serde::Serialize;

use super::tables::Figures;
use super::{Cx, Out, Sink};
use crate::model::{Customer, Rejection};

/// Where the sink is: which list is open and whether it has items yet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Customers { empty: bool },
    Rejected { empty: bool },
}

pub struct JsonSink {
    place: Place,
    started: bool,
    buf: Vec<u8>,
}

impl JsonSink {
    pub fn new(_: &Cx) -> JsonSink {
        JsonSink {
            place: Place::Customers { empty: true },
            started: false,
            buf: Vec::new(),
        }
    }

    fn head(&mut self, cx: &Cx) -> Result<(), String> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        let head = serde_json::to_vec_pretty(cx.head).map_err(|e| e.to_string())?;
        // `{ ... \n}` without its last line; the lists follow as more fields.
        self.buf.extend_from_slice(&head[..head.len() - 2]);
        self.buf.extend_from_slice(b",\n  \"customers\": [");
        Ok(())
    }

    fn item(&mut self, value: &impl Serialize, first: bool) -> Result<(), String> {
        self.buf
            .extend_from_slice(if first { b"\n    " } else { b",\n    " });
        let text = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
        for &b in &text {
            self.buf.push(b);
            if b == b'\n' {
                self.buf.extend_from_slice(b"    ");
            }
        }
        Ok(())
    }

    fn close_list(&mut self, empty: bool) {
        self.buf
            .extend_from_slice(if empty { b"]" } else { b"\n  ]" });
    }

    fn drain(&mut self, out: &mut dyn Out) -> Result<(), String> {
        out.write_all(&self.buf).map_err(|e| e.to_string())?;
        self.buf.clear();
        Ok(())
    }

    fn open_rejected(&mut self) {
        if let Place::Customers { empty } = self.place {
            self.close_list(empty);
            self.buf.extend_from_slice(b",\n  \"rejected\": [");
            self.place = Place::Rejected { empty: true };
        }
    }
}

impl Sink for JsonSink {
    fn customer(&mut self, cx: &Cx, customer: &Customer, out: &mut dyn Out) -> Result<(), String> {
        self.head(cx)?;
        let Place::Customers { empty } = self.place else {
            return Err("a customer after the rejected rows".to_string());
        };
        self.item(customer, empty)?;
        self.place = Place::Customers { empty: false };
        if self.buf.len() > 1 << 20 {
            self.drain(out)?;
        }
        Ok(())
    }

    fn rejection(
        &mut self,
        cx: &Cx,
        rejection: &Rejection,
        out: &mut dyn Out,
    ) -> Result<(), String> {
        self.head(cx)?;
        self.open_rejected();
        let Place::Rejected { empty } = self.place else {
            unreachable!("moved to the rejected rows above")
        };
        self.item(rejection, empty)?;
        self.place = Place::Rejected { empty: false };
        if self.buf.len() > 1 << 20 {
            self.drain(out)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, cx: &Cx, _: &Figures, out: &mut dyn Out) -> Result<(), String> {
        self.head(cx)?;
        self.open_rejected();
        if let Place::Rejected { empty } = self.place {
            self.close_list(empty);
        }
        self.buf.extend_from_slice(b"\n}\n");
        self.drain(out)?;
        out.flush().map_err(|e| e.to_string())
    }
}
