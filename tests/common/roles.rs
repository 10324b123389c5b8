//! The privilege levels a monitor role can have, shared by the tests that log in as them.

pub const PASSWORD: &str = "pglocks-test";

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Grant {
    Nothing,
    Monitor,
    MonitorAndSignal,
    Superuser,
    /// pg_signal_backend without pg_read_all_stats: may signal, but cannot re-check pids.
    SignalOnly,
}

impl Grant {
    pub fn suffix(self) -> &'static str {
        match self {
            Grant::Nothing => "plain",
            Grant::Monitor => "monitor",
            Grant::MonitorAndSignal => "signal",
            Grant::Superuser => "super",
            Grant::SignalOnly => "sigonly",
        }
    }

    pub fn create(self, role: &str) -> String {
        let how = match self {
            Grant::Nothing => "",
            Grant::Monitor => " IN ROLE pg_monitor",
            Grant::MonitorAndSignal => " IN ROLE pg_monitor, pg_signal_backend",
            Grant::Superuser => " SUPERUSER",
            Grant::SignalOnly => " IN ROLE pg_signal_backend",
        };
        format!("CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'{how};")
    }

    pub fn sees_all(self) -> bool {
        matches!(
            self,
            Grant::Monitor | Grant::MonitorAndSignal | Grant::Superuser
        )
    }
}
