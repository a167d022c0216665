//! The auto-close loop: a pass every AUTO_CLOSE_INTERVAL_SEC fetches one quote per
//! symbol with an open position and lets the writer apply the exit policies
//! ([`crate::writer`]'s pass); downtime bars left to judge and a flatten go first.

use crate::writer::Write;
use crate::{Oms, OmsError, PassReport};

impl Oms {
    /// One auto-close pass: one quote request for all symbols with an open position,
    /// then the policies decide and the closes are written many to a transaction (a
    /// pass over many positions runs in slices between other commands).
    ///
    /// A price error on one symbol is logged and counted, and that symbol's positions
    /// are left untouched.
    ///
    /// # Errors
    /// [`OmsError::Stopped`] or [`OmsError::Storage`].
    pub async fn auto_close_pass(&self) -> Result<PassReport, OmsError> {
        self.pass(true).await
    }

    /// The pass `loms-server`'s loop runs: [`Oms::auto_close_pass`] with a report that
    /// only counts the closes (`closed_count`; `closed` stays empty), so that nothing
    /// is read back or kept for them.
    ///
    /// # Errors
    /// [`OmsError::Stopped`] or [`OmsError::Storage`].
    pub async fn auto_close_pass_counting(&self) -> Result<PassReport, OmsError> {
        self.pass(false).await
    }

    /// An auto-close pass whose report keeps the closed positions or only counts them;
    /// a failure is kept for /health (the loop's check says the passes are failing).
    async fn pass(&self, keep_closed: bool) -> Result<PassReport, OmsError> {
        let r = self.run_pass(keep_closed).await;
        if let Err(e) = &r {
            self.0
                .health
                .pass_failed(self.0.deps.clock.now(), e.to_string());
        }
        r
    }

    async fn run_pass(&self, keep_closed: bool) -> Result<PassReport, OmsError> {
        // Downtime bars that could not be fetched at start go first, while unjudged.
        let gap = self.retry_gap().await.unwrap_or_else(|e| {
            log::error!("downtime_gap_retry_failed error=\"{e}\"");
            PassReport::default()
        });
        let started = std::time::Instant::now();
        let mut report = if self.flattening() {
            self.flatten_pass(keep_closed).await?
        } else {
            let market = self.current_market().await?;
            self.ask(|reply| Write::Pass {
                market,
                at: None,
                reply,
                progress: None,
                keep_closed,
            })
            .await?
        };
        report.closed_count += gap.closed_count;
        if keep_closed {
            report.closed.splice(0..0, gap.closed);
        }
        let took = started.elapsed();
        self.0.health.pass_done(self.0.deps.clock.now(), took);
        self.0.metrics.pass(took);
        Ok(report)
    }

    /// Run auto-close passes every AUTO_CLOSE_INTERVAL_SEC until `shutdown` resolves.
    /// A failed pass is logged and the loop goes on.
    pub async fn run_auto_close(&self, shutdown: impl std::future::Future<Output = ()>) {
        let period = self.0.settings.auto_close_interval;
        // The first pass comes one interval after start, like every other.
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        self.0.health.loop_started();
        // Under flatten (set before a restart, or a crash between storing the mode and
        // closing), what is still open is closed at once.
        if self.flattening()
            && let Err(e) = self.pass(false).await
        {
            log::error!("auto_close_pass_failed error=\"{e}\"");
        }
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = tick.tick() => {
                    if let Err(e) = self.pass(false).await {
                        log::error!("auto_close_pass_failed error=\"{e}\"");
                        if matches!(e, OmsError::Stopped) {
                            break;
                        }
                    }
                }
            }
        }
        log::info!("Auto-close loop stopped");
    }
}
