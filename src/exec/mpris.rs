//! Media players over MPRIS: D-Bus on the session bus, spoken to with zbus. The
//! players running are the bus names under `org.mpris.MediaPlayer2.`; the one playing
//! is preferred, and it is sent Play, Pause, Next, Previous or Stop.

use zbus::blocking::{fdo::DBusProxy, Connection, Proxy};

pub const BUS_PREFIX: &str = "org.mpris.MediaPlayer2.";
pub const OBJECT_PATH: &str = "/org/mpris/MediaPlayer2";
pub const PLAYER_INTERFACE: &str = "org.mpris.MediaPlayer2.Player";

#[derive(Debug, thiserror::Error)]
pub enum MprisError {
    #[error("no D-Bus session bus: {0}")]
    NoBus(String),
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
    #[error("D-Bus: {0}")]
    Fdo(#[from] zbus::fdo::Error),
}

/// A connection to the session bus, for media players.
pub struct Mpris {
    conn: Connection,
}

impl Mpris {
    pub fn session() -> Result<Self, MprisError> {
        Connection::session()
            .map(|conn| Self { conn })
            .map_err(|e| MprisError::NoBus(e.to_string()))
    }

    /// The players on the bus (bus names), those playing first, then by name.
    pub fn players(&self) -> Result<Vec<String>, MprisError> {
        let mut players: Vec<(bool, String)> = DBusProxy::new(&self.conn)?
            .list_names()?
            .into_iter()
            .map(|n| n.to_string())
            .filter(|n| n.starts_with(BUS_PREFIX))
            .map(|n| (self.status(&n).as_deref() != Some("Playing"), n))
            .collect();
        players.sort();
        Ok(players.into_iter().map(|(_, n)| n).collect())
    }

    /// A player's `PlaybackStatus` ("Playing", "Paused", "Stopped"), if it answers.
    pub fn status(&self, player: &str) -> Option<String> {
        Proxy::new(&self.conn, player, OBJECT_PATH, PLAYER_INTERFACE)
            .ok()?
            .get_property::<String>("PlaybackStatus")
            .ok()
    }

    /// Calls `method` (no arguments) on `player`'s Player interface.
    pub fn call(&self, player: &str, method: &str) -> Result<(), MprisError> {
        self.conn.call_method(
            Some(player),
            OBJECT_PATH,
            Some(PLAYER_INTERFACE),
            method,
            &(),
        )?;
        Ok(())
    }
}
