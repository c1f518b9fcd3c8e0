//! The two kinds of delivery the worker loop drives: FTP uploads and e-mails. Each
//! decides from its settings whether it is active (manual switch first, then schedule)
//! and how often it sends.

use std::time::Duration;

use chrono::NaiveDateTime;
use ipcam_capture::Frame;

use crate::email;
use crate::error::DeliveryError;
use crate::ftp::FtpClient;
use crate::naming::FileNamer;
use crate::settings::{EmailSettings, Frequency, UploadSettings};
use crate::worker::{Job, Pace, Plan, Trigger};

/// Frames to an FTP server.
pub struct UploadJob {
    settings: UploadSettings,
    client: FtpClient,
    schedule_names: FileNamer,
    manual_names: FileNamer,
}

impl UploadJob {
    /// A job with `settings`, not connected yet.
    pub fn new(settings: UploadSettings) -> Self {
        UploadJob {
            schedule_names: FileNamer::new(settings.schedule_naming.clone()),
            manual_names: FileNamer::new(settings.manual_naming.clone()),
            client: FtpClient::default(),
            settings,
        }
    }
}

impl Job for UploadJob {
    type Settings = UploadSettings;
    const NAME: &'static str = "FTP upload";

    fn configure(&mut self, settings: UploadSettings) -> bool {
        if settings == self.settings {
            return false;
        }
        self.schedule_names
            .configure(settings.schedule_naming.clone());
        self.manual_names.configure(settings.manual_naming.clone());
        if settings.server != self.settings.server {
            self.client.close();
        }
        self.settings = settings;
        true
    }

    fn destination(&self) -> String {
        let server = &self.settings.server;
        format!(
            "ftp://{}:{}/{}",
            server.host,
            server.port,
            server.directory.trim_start_matches('/')
        )
    }

    fn plan(&self, manual: bool, local: NaiveDateTime) -> Option<Plan> {
        if self.settings.server.host.is_empty() {
            return None;
        }
        let pace = match self.settings.frequency {
            Frequency::Auto => Pace::NewFrames,
            fixed => Pace::Every(fixed.interval().unwrap_or(Duration::from_secs(1))),
        };
        active_trigger(
            manual && self.settings.manual_enabled,
            self.settings.schedule.is_on(local),
        )
        .map(|trigger| Plan { trigger, pace })
    }

    fn deliver(
        &mut self,
        frame: &Frame,
        trigger: Trigger,
        local: NaiveDateTime,
        now: Duration,
    ) -> Result<(), DeliveryError> {
        let names = match trigger {
            Trigger::Schedule => &mut self.schedule_names,
            Trigger::Manual => &mut self.manual_names,
        };
        if names.awaits_listing() {
            let existing = self.client.list(&self.settings.server, now)?;
            names.resume(&existing);
        }
        let name = names.name(local);
        self.client
            .upload(&self.settings.server, &name, frame.jpeg(), now)?;
        names.commit(local);
        Ok(())
    }

    fn takes_events(&self) -> bool {
        !self.settings.server.host.is_empty()
    }

    const EVENT_FRAMES_TOGETHER: bool = false;

    /// Event frames are named like manual uploads (`FTPManualBaseFileName`,
    /// `FTPManualFileMode`): the spec gives events no names of their own.
    fn deliver_event(
        &mut self,
        frames: &[Frame],
        _source: &str,
        local: NaiveDateTime,
        now: Duration,
    ) -> Result<(), DeliveryError> {
        for frame in frames {
            self.deliver(frame, Trigger::Manual, local, now)?;
        }
        Ok(())
    }

    fn rest(&mut self, now: Duration) {
        self.client.close_idle(now);
    }

    fn close(&mut self) {
        self.client.close();
    }
}

/// Frames by e-mail.
pub struct EmailJob {
    settings: EmailSettings,
}

impl EmailJob {
    /// A job with `settings`.
    pub fn new(settings: EmailSettings) -> Self {
        EmailJob { settings }
    }
}

impl Job for EmailJob {
    type Settings = EmailSettings;
    const NAME: &'static str = "e-mail";

    fn configure(&mut self, settings: EmailSettings) -> bool {
        // The camera name is only the subject and text of the next mail: renaming the
        // camera must neither send at once nor forget the back-off from a failing server.
        let delivery_changed = EmailSettings {
            camera_name: self.settings.camera_name.clone(),
            ..settings.clone()
        } != self.settings;
        self.settings = settings;
        delivery_changed
    }

    fn destination(&self) -> String {
        format!("smtp://{}:{}", self.settings.server, self.settings.port)
    }

    fn plan(&self, manual: bool, local: NaiveDateTime) -> Option<Plan> {
        if self.settings.server.is_empty() || self.settings.receivers.is_empty() {
            return None;
        }
        let trigger = active_trigger(
            manual && self.settings.manual_enabled,
            self.settings.schedule.is_on(local),
        )?;
        let interval = match trigger {
            Trigger::Manual => self.settings.manual_interval,
            Trigger::Schedule => self.settings.schedule_interval,
        };
        Some(Plan {
            trigger,
            pace: Pace::Every(interval),
        })
    }

    fn deliver(
        &mut self,
        frame: &Frame,
        _trigger: Trigger,
        local: NaiveDateTime,
        _now: Duration,
    ) -> Result<(), DeliveryError> {
        email::send(&self.settings, frame.jpeg(), local)
    }

    fn takes_events(&self) -> bool {
        !self.settings.server.is_empty() && !self.settings.receivers.is_empty()
    }

    const EVENT_FRAMES_TOGETHER: bool = true;

    /// One e-mail per event, with every frame attached.
    fn deliver_event(
        &mut self,
        frames: &[Frame],
        source: &str,
        local: NaiveDateTime,
        _now: Duration,
    ) -> Result<(), DeliveryError> {
        let jpegs: Vec<&[u8]> = frames.iter().map(Frame::jpeg).collect();
        email::send_event(&self.settings, &jpegs, source, local)
    }

    fn rest(&mut self, _now: Duration) {}

    fn close(&mut self) {}
}

/// A manual switch that is on wins over the schedule: one delivery per tick, not two.
fn active_trigger(manual: bool, scheduled: bool) -> Option<Trigger> {
    if manual {
        Some(Trigger::Manual)
    } else if scheduled {
        Some(Trigger::Schedule)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveTime};
    use ipcam_api::{EmailConfig, UploadConfig};

    use super::*;

    fn monday_noon() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 6, 3)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("valid")
    }

    fn upload(config: UploadConfig) -> UploadJob {
        UploadJob::new(UploadSettings::try_from(&config).expect("valid"))
    }

    #[test]
    fn renaming_the_camera_changes_the_mail_but_not_when_it_goes() {
        let config = EmailConfig {
            smtp_server: "127.0.0.1".into(),
            receiver: "owner@example.com".into(),
            ..EmailConfig::default()
        };
        let settings = |name: &str| EmailSettings::from_config(&config, name).expect("valid");
        let mut job = EmailJob::new(settings("Door"));
        assert!(
            !job.configure(settings("Garden")),
            "a new name restarted the schedule"
        );
        assert_eq!(
            job.settings.camera_name, "Garden",
            "the next mail names the camera"
        );
        let elsewhere = EmailConfig {
            smtp_server: "127.0.0.2".into(),
            ..config.clone()
        };
        let moved = EmailSettings::from_config(&elsewhere, "Garden").expect("valid");
        assert!(job.configure(moved), "a new server starts afresh");
    }

    #[test]
    fn upload_is_idle_without_a_host_or_any_trigger() {
        let job = upload(UploadConfig {
            schedule_enable: 1,
            ..UploadConfig::default()
        });
        assert_eq!(job.plan(true, monday_noon()), None, "no host");
        let job = upload(UploadConfig {
            host: "127.0.0.1".into(),
            ..UploadConfig::default()
        });
        assert_eq!(job.plan(false, monday_noon()), None);
        assert_eq!(job.plan(true, monday_noon()), None, "manual not enabled");
    }

    #[test]
    fn manual_wins_over_schedule_and_both_use_the_frequency() {
        let job = upload(UploadConfig {
            host: "127.0.0.1".into(),
            schedule_enable: 1,
            manual_enable: 1,
            frames_per_second: "2".into(),
            ..UploadConfig::default()
        });
        let every_half_second = Pace::Every(Duration::from_millis(500));
        assert_eq!(
            job.plan(true, monday_noon()),
            Some(Plan {
                trigger: Trigger::Manual,
                pace: every_half_second
            })
        );
        assert_eq!(
            job.plan(false, monday_noon()),
            Some(Plan {
                trigger: Trigger::Schedule,
                pace: every_half_second
            })
        );
    }

    #[test]
    fn schedule_window_gates_uploads() {
        let job = upload(UploadConfig {
            host: "127.0.0.1".into(),
            schedule_enable: 1,
            schedule_mode: 1,
            schedule_day: 0b0000010,
            schedule_start: NaiveTime::from_hms_opt(8, 0, 0).expect("valid"),
            schedule_stop: NaiveTime::from_hms_opt(11, 59, 59).expect("valid"),
            frames_per_second: "Auto".into(),
            ..UploadConfig::default()
        });
        assert_eq!(job.plan(false, monday_noon()), None);
        let monday_morning = monday_noon() - chrono::Duration::hours(2);
        assert_eq!(
            job.plan(false, monday_morning).map(|p| p.pace),
            Some(Pace::NewFrames)
        );
    }

    #[test]
    fn email_uses_the_interval_of_its_trigger() {
        let config = EmailConfig {
            smtp_server: "127.0.0.1".into(),
            receiver: "a@example.com".into(),
            schedule_enable: 1,
            schedule_interval: 600,
            manual_enable: 1,
            manual_interval: 5,
            ..EmailConfig::default()
        };
        let job = EmailJob::new(EmailSettings::from_config(&config, "cam").expect("valid"));
        assert_eq!(
            job.plan(true, monday_noon()).map(|p| p.pace),
            Some(Pace::Every(Duration::from_secs(5)))
        );
        assert_eq!(
            job.plan(false, monday_noon()).map(|p| p.pace),
            Some(Pace::Every(Duration::from_secs(600)))
        );
    }
}
