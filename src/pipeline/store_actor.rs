//! StoreActor: the store's writes on their own thread, supervised.

use actix::Recipient;
use luna_actors::{Envelope, Escalation, RestartPolicy, Stage, StageActor, StageAddr};

use crate::store::{CommandRecord, Store, StoreError, StoreOptions};

pub enum StoreRequest {
    /// Insert or update a command's history row (idempotent by correlation id).
    Record(Box<CommandRecord>),
    /// When a command's spoken reply began to sound.
    ReplyAudio {
        correlation_id: String,
        first_audio_ms: f64,
    },
    /// Fold the WAL into the database file.
    Checkpoint,
}

#[derive(Debug, PartialEq, Eq)]
pub enum StoreReply {
    Recorded {
        row_id: i64,
    },
    /// `found`: whether the command was stored to update.
    ReplyAudioNoted {
        found: bool,
    },
    Checkpointed,
}

pub struct StoreStage {
    store: Store,
}

impl Stage for StoreStage {
    type Input = StoreRequest;
    type Output = StoreReply;
    type Error = StoreError;

    fn handle(&mut self, input: &Envelope<StoreRequest>) -> Result<StoreReply, StoreError> {
        let _span =
            tracing::debug_span!("store.write", correlation_id = %input.correlation_id).entered();
        match &input.payload {
            StoreRequest::Record(record) => Ok(StoreReply::Recorded {
                row_id: self.store.record_command(record)?,
            }),
            StoreRequest::ReplyAudio {
                correlation_id,
                first_audio_ms,
            } => Ok(StoreReply::ReplyAudioNoted {
                found: self
                    .store
                    .record_reply_audio(correlation_id, *first_audio_ms)?,
            }),
            StoreRequest::Checkpoint => {
                self.store.checkpoint()?;
                Ok(StoreReply::Checkpointed)
            }
        }
    }

    /// A pool that cannot hand out connections is rebuilt by reopening the database.
    fn is_fatal(error: &StoreError) -> bool {
        matches!(error, StoreError::Pool(_))
    }
}

/// Starts the StoreActor; each (re)start reopens the database at `store`'s path.
/// Writes are idempotent, so the write in hand during a crash is retried once.
pub fn start_store(
    store: Store,
    options: StoreOptions,
    policy: RestartPolicy,
    escalate_to: Recipient<Escalation>,
) -> StageAddr<StoreStage> {
    let path = store.path().to_owned();
    let mut opened = Some(store);
    StageActor::build("store", move || {
        let store = match opened.take() {
            Some(store) => store,
            None => Store::open(&path, &options)?,
        };
        Ok(StoreStage { store })
    })
    .policy(RestartPolicy {
        retry_failed_message: true,
        ..policy
    })
    .escalate_to(escalate_to)
    .start()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CommandSource, Outcome};

    struct Ignore;
    impl actix::Actor for Ignore {
        type Context = actix::Context<Self>;
    }
    impl actix::Handler<Escalation> for Ignore {
        type Result = ();
        fn handle(&mut self, _: Escalation, _: &mut Self::Context) {}
    }

    #[actix_rt::test]
    async fn records_through_the_actor_and_checkpoints() {
        use actix::Actor as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("luna.db");
        let store = Store::open(&path, &StoreOptions::default()).unwrap();
        let actor = start_store(
            store.clone(),
            StoreOptions::default(),
            RestartPolicy::default(),
            Ignore.start().recipient(),
        );
        let mut record = CommandRecord::received("abc", CommandSource::Api, Some("hi".into()));
        record.outcome = Outcome::Ok;
        let env = Envelope::entering(StoreRequest::Record(Box::new(record.clone())));
        let id = env.correlation_id;
        let reply = actor.call(env).await.unwrap();
        assert_eq!(reply.correlation_id, id);
        assert!(matches!(reply.payload, StoreReply::Recorded { .. }));
        let reply = actor
            .call(Envelope::entering(StoreRequest::Checkpoint))
            .await
            .unwrap();
        assert_eq!(reply.payload, StoreReply::Checkpointed);
        assert_eq!(store.command("abc").unwrap(), Some(record));
        actor.shutdown().await;
        assert_eq!(
            std::fs::metadata(dir.path().join("luna.db-wal"))
                .unwrap()
                .len(),
            0
        );
    }
}
