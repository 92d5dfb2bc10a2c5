//! The settings every view reads, read from the environment once per process and changeable from
//! a cell ([`ViewSettings::set`]); kept in [`crate::global`], so every cell's copy of the library
//! sees the same values.

use std::sync::Mutex;
use std::time::Duration;

/// Process-wide settings of attention views.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewSettings {
    /// How long a view no front end shows keeps its tensors (`EXFORMER_RELEASE_AFTER_S`, 20 s).
    pub release_after: Duration,
    /// A test hook (`EXFORMER_TEST_PUBLISH_DELAY_MS`): holds a re-run's publish between reading the
    /// selected layer and writing the state, so a test can send a change in that window.
    pub test_publish_delay: Option<Duration>,
}

impl ViewSettings {
    /// The settings the environment gives (defaults where a variable is unset or invalid).
    pub fn from_env() -> Self {
        let release_after = std::env::var("EXFORMER_RELEASE_AFTER_S")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .unwrap_or(20.0);
        let test_publish_delay = std::env::var("EXFORMER_TEST_PUBLISH_DELAY_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis);
        ViewSettings {
            release_after: Duration::from_secs_f64(release_after),
            test_publish_delay,
        }
    }

    fn slot() -> &'static Mutex<ViewSettings> {
        crate::global::global("view.settings", || Mutex::new(ViewSettings::from_env()))
    }

    /// The settings in force.
    pub fn current() -> ViewSettings {
        Self::slot()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes these the settings of every view from now on.
    pub fn set(self) {
        *Self::slot().lock().unwrap_or_else(|e| e.into_inner()) = self;
    }

    pub(super) fn publish_delay_for_tests(&self) {
        if let Some(d) = self.test_publish_delay {
            std::thread::sleep(d);
        }
    }
}
