//! Progress bars per phase on stderr: the customer sweep, provisioning and licence moves.
//!
//! The decision of whether to draw at all is made by the caller (`show`: stderr is a
//! terminal and `NO_COLOR` is unset); hidden bars cost nothing, so the executor calls
//! them unconditionally.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Bars {
    multi: MultiProgress,
    show: bool,
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
            provision: ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden()),
            reassign: ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden()),
        }
    }

    /// A counter of customers listed by the sweep.
    pub fn sweep(&self) -> ProgressBar {
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
    }

    pub fn start_work(&self, provision: u64, reassign: u64) {
        if !self.show {
            return;
        }
        let style =
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                .expect("valid template")
                .progress_chars("=> ");
        self.provision.set_length(provision);
        self.multi.add(self.provision.clone());
        self.provision.set_style(style.clone());
        self.provision.set_prefix("customers");
        if reassign > 0 {
            self.reassign.set_length(reassign);
            self.multi.add(self.reassign.clone());
            self.reassign.set_style(style);
            self.reassign.set_prefix("licences");
        }
    }

    /// Runs `f` (a prompt on the terminal) with the bars cleared.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.multi.suspend(f)
    }

    pub fn provisioned(&self) {
        self.provision.inc(1);
    }

    pub fn reassigned(&self) {
        self.reassign.inc(1);
    }

    pub fn finish(&self) {
        self.provision.finish();
        self.reassign.finish();
        if self.show {
            // indicatif leaves the cursor at the end of the last bar; the summary that
            // follows on stdout must start on a line of its own.
            eprintln!();
        }
    }
}
