//! The updater's thread: takes settings, asks the [`Schedule`] what is due, sends the
//! update, publishes the status and logs.
//!
//! Logging follows the events workers: the first failure of an episode, and each change
//! of its kind, is a warning; repeats are debug; the recovery is info. A fatal answer is
//! an error, once, saying that updates stop until the settings change. No log line or
//! status holds the user name's password (it is only ever in the request header).

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::answer::{Answer, Outcome};
use crate::cache::{Cache, Entry};
use crate::client::{Request, Updater};
use crate::provider::Provider;
use crate::public_ip::PublicAddress;
use crate::schedule::{Due, Schedule, Timing};
use crate::settings::{is_public, DdnsOptions, DdnsSettings};
use crate::status::{DdnsStatus, Shared};

/// Reads the camera's own IPv4 address (`None` when it has none yet).
pub type AddressSource = Box<dyn Fn() -> Option<Ipv4Addr> + Send>;

/// Monotonic time since an arbitrary origin.
pub(crate) type MonotonicClock = Box<dyn Fn() -> Duration + Send>;

/// A message from the handle to the worker.
pub(crate) enum Command {
    /// New settings, numbered so that a late status of old ones is not published.
    Configure(u64, DdnsSettings),
    /// Stop after the update in flight.
    Stop,
}

/// Settings being kept up to date.
struct Active {
    settings: DdnsSettings,
    url: String,
    schedule: Schedule,
}

/// The state of the updater thread.
pub(crate) struct Worker<U: Updater> {
    updater: U,
    commands: Receiver<Command>,
    shared: Arc<Shared>,
    address: AddressSource,
    clock: MonotonicClock,
    /// The daemon's update URL for every provider, if it set one.
    server: Option<String>,
    timing: Timing,
    /// The number of the settings being kept.
    generation: u64,
    active: Option<Active>,
    /// The "check IP" service, if the daemon names one.
    public: Option<PublicAddress>,
    /// Where the last accepted update is kept across restarts.
    cache: Option<Cache>,
    /// The kind of the failure episode in progress (`911`, `unreachable`...).
    episode: Option<String>,
    failures_in_episode: u64,
}

/// The update URL of `settings`: the daemon's override, else the provider's own.
pub(crate) fn update_url(settings: &DdnsSettings, server: Option<&str>) -> Option<String> {
    match server {
        Some(server) => Some(server.to_owned()),
        None => Provider::for_id(&settings.provider).url(),
    }
}

impl<U: Updater> Worker<U> {
    /// A worker with nothing to do until the first settings arrive.
    pub(crate) fn new(
        updater: U,
        commands: Receiver<Command>,
        shared: Arc<Shared>,
        address: AddressSource,
        clock: MonotonicClock,
        options: &DdnsOptions,
    ) -> Self {
        let timing = options.timing;
        Worker {
            updater,
            commands,
            shared,
            address,
            clock,
            server: options.server.clone(),
            timing,
            generation: 0,
            active: None,
            public: options
                .check_ip
                .clone()
                .map(|url| PublicAddress::new(url, timing.check_ip)),
            cache: options.cache_file.clone().map(Cache::new),
            episode: None,
            failures_in_episode: 0,
        }
    }

    /// Runs until [`Command::Stop`] or until the handle is gone. Every command waiting
    /// is taken before the next step, so that no update goes out with settings that
    /// newer ones already replaced.
    pub(crate) fn run(mut self) {
        loop {
            let first = match self.step() {
                None => self
                    .commands
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
                Some(wait) if wait.is_zero() => Err(RecvTimeoutError::Timeout),
                Some(wait) => self.commands.recv_timeout(wait),
            };
            if !self.handle(first) {
                return;
            }
            while let Ok(command) = self.commands.try_recv() {
                if !self.handle(Ok(command)) {
                    return;
                }
            }
        }
    }

    /// Carries out a command; `false` to stop.
    fn handle(&mut self, command: Result<Command, RecvTimeoutError>) -> bool {
        match command {
            Ok(Command::Configure(generation, settings)) => {
                self.configure(generation, settings);
                true
            }
            Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => false,
            Err(RecvTimeoutError::Timeout) => true,
        }
    }

    /// Takes new settings: everything starts over (the schedule, the back-off, a stop
    /// after a fatal answer), since they may be the fix. The first settings of the run
    /// take over the update a previous run left in the cache, if it is still fresh.
    pub(crate) fn configure(&mut self, generation: u64, settings: DdnsSettings) {
        let first_of_run = self.generation == 0;
        self.generation = generation;
        self.episode = None;
        self.failures_in_episode = 0;
        self.active = None;
        let status = if !settings.enabled {
            DdnsStatus::Disabled
        } else if let Some(url) = update_url(&settings, self.server.as_deref()) {
            log::info!(
                "DDNS: keeping {} up to date through {}",
                settings.host_name,
                server_of(&url)
            );
            let mut active = Active {
                settings,
                url,
                schedule: Schedule::new(self.timing),
            };
            let resumed = first_of_run.then(|| self.resume(&mut active)).flatten();
            self.active = Some(active);
            resumed.map_or(DdnsStatus::Updating, DdnsStatus::Updated)
        } else {
            log::warn!(
                "DDNS: provider {} is not supported (it does not speak dyndns2); {} is not updated",
                settings.provider,
                settings.host_name
            );
            DdnsStatus::Unsupported
        };
        self.shared.publish(generation, status);
    }

    /// Takes over the cached update of a previous run for `active`, if it was for the same
    /// name at the same server and its refresh is not due yet; returns its answer.
    fn resume(&self, active: &mut Active) -> Option<Answer> {
        let entry = self.cache.as_ref()?.load()?;
        if entry.url != active.url || entry.host_name != active.settings.host_name {
            return None;
        }
        let age = SystemTime::now().duration_since(entry.at).ok()?;
        if age >= self.timing.refresh {
            return None;
        }
        active.schedule.resume((self.clock)(), age, entry.myip);
        log::info!(
            "DDNS: {} was updated {} min ago ({}); not sending that again",
            entry.host_name,
            age.as_secs() / 60,
            entry.answer
        );
        Some(entry.answer)
    }

    /// Keeps an accepted update for the next run.
    fn remember(&self, active: &Active, myip: Option<Ipv4Addr>, answer: &Answer) {
        let Some(cache) = &self.cache else { return };
        let entry = Entry {
            url: active.url.clone(),
            host_name: active.settings.host_name.clone(),
            myip,
            at: SystemTime::now(),
            answer: answer.clone(),
        };
        if let Err(err) = cache.store(&entry) {
            log::warn!("DDNS: cannot keep the last update for the next start: {err}");
        }
    }

    /// Sends the update if one is due; returns how long to wait for the next look
    /// (`None`: until new settings).
    pub(crate) fn step(&mut self) -> Option<Duration> {
        if self.active.as_ref()?.schedule.is_stopped() {
            return None;
        }
        let now = (self.clock)();
        let own = (self.address)().filter(|ip| is_public(*ip));
        let (myip, look_again) = match self.public.as_mut() {
            Some(public) => {
                let seen = public.current(now, &mut self.updater);
                let look_again = public.next_check_in(now).min(self.timing.address_check);
                (seen.filter(|ip| is_public(*ip)).or(own), look_again)
            }
            None => (own, self.timing.address_check),
        };
        match self.active.as_ref()?.schedule.due(now, myip) {
            Due::Never => None,
            Due::In(wait) => Some(wait.min(look_again)),
            Due::Now => {
                self.send(myip);
                Some(Duration::ZERO)
            }
        }
    }

    fn send(&mut self, myip: Option<Ipv4Addr>) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let settings = &active.settings;
        let request = Request {
            url: &active.url,
            host_name: &settings.host_name,
            myip,
            user_name: &settings.user_name,
            password: &settings.password,
        };
        let result = self.updater.update(&request);
        let now = (self.clock)();
        active.schedule.record(now, myip, result.as_ref().ok());
        let host = active.settings.host_name.clone();
        let server = server_of(&active.url).to_owned();
        let status = match result {
            Ok(answer) => match answer.outcome() {
                Outcome::Success => {
                    if let Some(active) = &self.active {
                        self.remember(active, myip, &answer);
                    }
                    self.succeeded(&host, &answer);
                    DdnsStatus::Updated(answer)
                }
                Outcome::Fatal => {
                    log::error!(
                        "DDNS update of {host} at {server}: {} ({}); no more updates until \
                         the DDNS settings change",
                        answer.code(),
                        answer.meaning()
                    );
                    DdnsStatus::Stopped(answer)
                }
                Outcome::Retry => {
                    let reason = answer.code().to_owned();
                    let detail = format!("{} ({})", answer.code(), answer.meaning());
                    self.failed(&host, &server, reason.clone(), &detail);
                    DdnsStatus::Retrying(reason)
                }
            },
            Err(error) => {
                self.failed(&host, &server, error.short(), &error.to_string());
                DdnsStatus::Retrying(error.short())
            }
        };
        self.shared.publish(self.generation, status);
    }

    fn succeeded(&mut self, host: &str, answer: &Answer) {
        if self.episode.take().is_some() {
            log::info!(
                "DDNS: updates of {host} work again after {} failed attempts: {answer}",
                self.failures_in_episode
            );
        } else {
            log::info!("DDNS: {host}: {answer} ({})", answer.meaning());
        }
        self.failures_in_episode = 0;
    }

    fn failed(&mut self, host: &str, server: &str, kind: String, detail: &str) {
        self.failures_in_episode += 1;
        if self.episode.as_deref() != Some(kind.as_str()) {
            log::warn!(
                "DDNS update of {host} at {server} failed: {detail}; retrying with back-off \
                 up to {} s",
                self.timing.retry_max.as_secs()
            );
            self.episode = Some(kind);
        } else {
            log::debug!("DDNS update of {host} at {server} failed again: {detail}");
        }
    }
}

/// The scheme and host of an update URL, for logs.
fn server_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    url[after_scheme..]
        .find('/')
        .map_or(url, |end| &url[..after_scheme + end])
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;

    /// What was sent: (time in s, host, myip).
    type Sent = Arc<Mutex<Vec<(u64, String, Option<Ipv4Addr>)>>>;

    /// Answers from a script and records what was sent; a "check IP" service that
    /// answers the address the test sets (503 while it is `None`).
    struct Scripted {
        answers: VecDeque<Result<Answer, crate::client::UpdateError>>,
        sent: Sent,
        checks: Arc<Mutex<Vec<u64>>>,
        public: Arc<Mutex<Option<Ipv4Addr>>>,
        now: Arc<Mutex<Duration>>,
    }

    impl Updater for Scripted {
        fn update(&mut self, request: &Request<'_>) -> Result<Answer, crate::client::UpdateError> {
            let at = self.now.lock().expect("clock").as_secs();
            self.sent
                .lock()
                .expect("sent")
                .push((at, request.host_name.to_owned(), request.myip));
            self.answers.pop_front().unwrap_or(Ok(Answer::Good(None)))
        }

        fn fetch(&mut self, url: &str) -> Result<String, crate::client::UpdateError> {
            let at = self.now.lock().expect("clock").as_secs();
            self.checks.lock().expect("checks").push(at);
            match *self.public.lock().expect("public") {
                Some(ip) => Ok(format!("Current IP Address: {ip} ({url})")),
                None => Err(crate::client::UpdateError::Http(503)),
            }
        }
    }

    struct Rig {
        worker: Worker<Scripted>,
        sent: Sent,
        checks: Arc<Mutex<Vec<u64>>>,
        public: Arc<Mutex<Option<Ipv4Addr>>>,
        now: Arc<Mutex<Duration>>,
        address: Arc<Mutex<Option<Ipv4Addr>>>,
        generation: u64,
    }

    fn rig(answers: Vec<Result<Answer, crate::client::UpdateError>>) -> Rig {
        rig_with(answers, None)
    }

    fn rig_with(
        answers: Vec<Result<Answer, crate::client::UpdateError>>,
        check_ip: Option<&str>,
    ) -> Rig {
        let sent = Arc::default();
        let checks = Arc::default();
        let public = Arc::default();
        let now = Arc::new(Mutex::new(Duration::ZERO));
        let address = Arc::new(Mutex::new(Some(Ipv4Addr::new(192, 168, 0, 20))));
        let clock = Arc::clone(&now);
        let read_address = Arc::clone(&address);
        let (_commands, inbox) = crossbeam_channel::unbounded();
        let options = DdnsOptions {
            check_ip: check_ip.map(str::to_owned),
            timing: Timing {
                refresh: Duration::from_secs(1000),
                refresh_max: Duration::from_secs(5000),
                address_check: Duration::from_secs(10),
                check_ip: Duration::from_secs(30),
                retry_min: Duration::from_secs(2),
                retry_max: Duration::from_secs(8),
            },
            ..DdnsOptions::default()
        };
        let worker = Worker::new(
            Scripted {
                answers: answers.into(),
                sent: Arc::clone(&sent),
                checks: Arc::clone(&checks),
                public: Arc::clone(&public),
                now: Arc::clone(&now),
            },
            inbox,
            Arc::new(Shared::new()),
            Box::new(move || *read_address.lock().expect("address")),
            Box::new(move || *clock.lock().expect("clock")),
            &options,
        );
        Rig {
            worker,
            sent,
            checks,
            public,
            now,
            address,
            generation: 0,
        }
    }

    fn settings(host: &str) -> DdnsSettings {
        DdnsSettings {
            enabled: true,
            provider: "DynDNS".into(),
            host_name: host.into(),
            user_name: "owner".into(),
            password: "pw".into(),
        }
    }

    impl Rig {
        fn configure(&mut self, settings: DdnsSettings) {
            self.generation += 1;
            self.worker.shared.lock().generation = self.generation;
            self.worker.configure(self.generation, settings);
        }

        /// Runs the worker as its thread would, one second of clock time at a time.
        fn run_until(&mut self, until: u64) {
            loop {
                while self.worker.step() == Some(Duration::ZERO) {}
                let mut now = self.now.lock().expect("clock");
                if now.as_secs() >= until {
                    return;
                }
                *now += Duration::from_secs(1);
            }
        }

        fn times(&self) -> Vec<u64> {
            self.sent
                .lock()
                .expect("sent")
                .iter()
                .map(|s| s.0)
                .collect()
        }

        fn status(&self) -> DdnsStatus {
            self.worker.shared.lock().status.clone()
        }
    }

    #[test]
    fn nothing_is_sent_until_enabled_settings_arrive() {
        let mut rig = rig(Vec::new());
        rig.run_until(20);
        rig.configure(DdnsSettings::default());
        rig.run_until(40);
        assert!(rig.times().is_empty());
        assert_eq!(rig.status(), DdnsStatus::Disabled);
    }

    #[test]
    fn an_unsupported_provider_sends_nothing_and_says_so() {
        let mut rig = rig(Vec::new());
        rig.configure(DdnsSettings {
            provider: "TZO.com".into(),
            ..settings("cam.example.org")
        });
        rig.run_until(20);
        assert!(rig.times().is_empty());
        assert_eq!(rig.status().to_string(), "unsupported provider");
    }

    #[test]
    fn a_fatal_answer_stops_updates_until_the_settings_change() {
        let mut rig = rig(vec![Ok(Answer::BadAuth)]);
        rig.configure(settings("cam.example.org"));
        rig.run_until(5000);
        assert_eq!(rig.times(), [0], "exactly one request");
        assert_eq!(rig.status(), DdnsStatus::Stopped(Answer::BadAuth));
        rig.configure(settings("cam2.example.org"));
        rig.run_until(5001);
        assert_eq!(rig.times(), [0, 5000]);
        assert_eq!(rig.status(), DdnsStatus::Updated(Answer::Good(None)));
    }

    #[test]
    fn passing_failures_are_retried_with_back_off_until_the_server_answers() {
        let unreachable = crate::client::UpdateError::Unreachable("refused".into());
        let mut rig = rig(vec![
            Ok(Answer::ServerTrouble),
            Err(unreachable.clone()),
            Err(unreachable),
            Ok(Answer::DnsError),
        ]);
        rig.configure(settings("cam.example.org"));
        rig.run_until(13);
        assert_eq!(rig.status().to_string(), "unreachable, retrying");
        rig.run_until(14);
        assert_eq!(rig.status().to_string(), "dnserr, retrying");
        rig.run_until(30);
        assert_eq!(rig.times(), [0, 2, 6, 14, 22]);
        assert_eq!(rig.status(), DdnsStatus::Updated(Answer::Good(None)));
    }

    #[test]
    fn a_new_public_address_is_sent_as_myip_and_a_private_one_is_left_out() {
        let mut rig = rig(Vec::new());
        rig.configure(settings("cam.example.org"));
        rig.run_until(30);
        let public = Ipv4Addr::new(81, 2, 69, 160);
        *rig.address.lock().expect("address") = Some(public);
        rig.run_until(60);
        let sent = rig.sent.lock().expect("sent").clone();
        let host = "cam.example.org".to_owned();
        assert_eq!(sent, [(0, host.clone(), None), (30, host, Some(public))]);
    }

    #[test]
    fn the_name_is_refreshed_after_the_interval() {
        let nochg = || Ok(Answer::NoChange(None));
        let mut rig = rig(vec![Ok(Answer::Good(None)), nochg(), nochg()]);
        rig.configure(settings("cam.example.org"));
        rig.run_until(6999);
        assert_eq!(rig.times(), [0, 1000, 3000], "each nochg doubles the wait");
        rig.run_until(7000);
        assert_eq!(rig.times(), [0, 1000, 3000, 7000]);
    }

    #[test]
    fn a_check_ip_service_supplies_myip_behind_nat_and_is_asked_once_per_interval() {
        let mut rig = rig_with(Vec::new(), Some("http://checkip.example/"));
        let first = Ipv4Addr::new(81, 2, 69, 160);
        let second = Ipv4Addr::new(81, 2, 69, 161);
        *rig.public.lock().expect("public") = Some(first);
        rig.configure(settings("cam.example.org"));
        rig.run_until(40);
        *rig.public.lock().expect("public") = Some(second);
        rig.run_until(70);
        // The service fails: the last address it gave stands, nothing is sent.
        *rig.public.lock().expect("public") = None;
        rig.run_until(100);
        let sent: Vec<(u64, Option<Ipv4Addr>)> = rig
            .sent
            .lock()
            .expect("sent")
            .iter()
            .map(|(at, _, myip)| (*at, *myip))
            .collect();
        assert_eq!(sent, [(0, Some(first)), (60, Some(second))]);
        assert_eq!(*rig.checks.lock().expect("checks"), [0, 30, 60, 90]);
    }

    #[test]
    fn the_check_ip_service_is_not_asked_while_ddns_is_off_or_stopped() {
        let mut rig = rig_with(vec![Ok(Answer::BadAuth)], Some("http://checkip.example/"));
        *rig.public.lock().expect("public") = Some(Ipv4Addr::new(81, 2, 69, 160));
        rig.run_until(50);
        assert!(rig.checks.lock().expect("checks").is_empty());
        rig.configure(settings("cam.example.org"));
        rig.run_until(200);
        assert_eq!(
            *rig.checks.lock().expect("checks"),
            [50],
            "once, then badauth"
        );
    }

    #[test]
    fn a_restart_takes_over_the_last_accepted_update_instead_of_repeating_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ddns-last-update");
        let mut first = rig(Vec::new());
        first.worker.cache = Some(Cache::new(path.clone()));
        first.configure(settings("cam.example.org"));
        first.run_until(5);
        assert_eq!(first.times(), [0]);

        let mut second = rig(Vec::new());
        second.worker.cache = Some(Cache::new(path.clone()));
        second.configure(settings("cam.example.org"));
        assert_eq!(second.status(), DdnsStatus::Updated(Answer::Good(None)));
        second.run_until(900);
        assert!(second.times().is_empty(), "nothing sent again");
        second.run_until(1000);
        assert_eq!(
            second.times(),
            [1000],
            "refreshed when the first run would have"
        );

        let mut third = rig(Vec::new());
        third.worker.cache = Some(Cache::new(path));
        third.configure(settings("other.example.org"));
        third.run_until(1);
        assert_eq!(third.times(), [0], "another host name is updated at once");
    }
}
