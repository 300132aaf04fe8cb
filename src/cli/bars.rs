//! Progress bars per phase on stderr for `apply`: the customer sweep, provisioning and
//! licence moves. The library reports progress through
//! [`cspmove::apply::progress::Observer`]; this is the binary's implementation, so
//! indicatif stays out of the library.
//!
//! The decision of whether to draw at all is made by the caller (`show`: stderr is a
//! terminal and `NO_COLOR` is unset); hidden bars cost nothing.

use std::sync::OnceLock;

use cspmove::apply::progress::Observer;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Bars {
    multi: MultiProgress,
    show: bool,
    sweep: OnceLock<ProgressBar>,
    provision: ProgressBar,
    reassign: ProgressBar,
}

impl Bars {
    pub fn new(show: bool) -> Bars {
        let multi = MultiProgress::with_draw_target(if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Bars {
            multi,
            show,
            sweep: OnceLock::new(),
            provision: ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden()),
            reassign: ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden()),
        }
    }

    /// The counter of customers listed by the sweep, made on first use.
    fn sweep(&self) -> &ProgressBar {
        self.sweep.get_or_init(|| {
            if !self.show {
                return ProgressBar::hidden();
            }
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} customers listed {pos} {elapsed}")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        })
    }
}

impl Observer for Bars {
    fn customers_listed(&self, n: usize) {
        self.sweep().inc(n as u64);
    }

    fn work_started(&self, customers: u64, licence_moves: u64) {
        if let Some(s) = self.sweep.get() {
            s.finish();
        }
        if !self.show {
            return;
        }
        let style =
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                .expect("valid template")
                .progress_chars("=> ");
        self.provision.set_length(customers);
        self.multi.add(self.provision.clone());
        self.provision.set_style(style.clone());
        self.provision.set_prefix("customers");
        if licence_moves > 0 {
            self.reassign.set_length(licence_moves);
            self.multi.add(self.reassign.clone());
            self.reassign.set_style(style);
            self.reassign.set_prefix("licences");
        }
    }

    fn customer_provisioned(&self) {
        self.provision.inc(1);
    }

    fn customer_reassigned(&self) {
        self.reassign.inc(1);
    }

    fn finished(&self) {
        if let Some(s) = self.sweep.get() {
            s.finish();
        }
        self.provision.finish();
        self.reassign.finish();
        if self.show {
            // indicatif leaves the cursor at the end of the last bar; the summary that
            // follows on stdout must start on a line of its own.
            eprintln!();
        }
    }

    fn around_prompt(&self, prompt: &mut dyn FnMut() -> bool) -> bool {
        self.multi.suspend(prompt)
    }
}
