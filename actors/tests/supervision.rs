use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use luna_actors::{
    fan_out, ChildError, CorrelationId, Envelope, Escalation, FanOut, RestartPolicy, Stage,
    StageActor, StageError,
};

#[derive(Debug, thiserror::Error)]
enum TestError {
    #[error("bad input")]
    Bad,
    #[error("state corrupted")]
    Corrupted,
}

/// A stage that records which state generation handled each input.
struct Echo {
    generation: usize,
}

impl Stage for Echo {
    type Input = &'static str;
    type Output = String;
    type Error = TestError;

    fn handle(&mut self, input: &Envelope<&'static str>) -> Result<String, TestError> {
        match input.payload {
            "panic" => panic!("injected panic"),
            "panic-on-first-state" if self.generation == 1 => panic!("first state is broken"),
            "bad" => Err(TestError::Bad),
            "corrupt" => Err(TestError::Corrupted),
            other => Ok(format!("{other}@{}", self.generation)),
        }
    }

    fn is_fatal(error: &TestError) -> bool {
        matches!(error, TestError::Corrupted)
    }
}

fn echo_factory(builds: Arc<AtomicUsize>) -> impl FnMut() -> Result<Echo, TestError> + Send {
    move || {
        let generation = builds.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Echo { generation })
    }
}

fn fast_policy(retry: bool) -> RestartPolicy {
    RestartPolicy {
        max_restarts: 3,
        window: Duration::from_secs(10),
        backoff_initial: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        retry_failed_message: retry,
        mailbox_capacity: 16,
    }
}

#[actix_rt::test]
async fn panic_restarts_stage_and_next_message_is_handled() {
    let builds = Arc::new(AtomicUsize::new(0));
    let stage = StageActor::build("echo", echo_factory(builds.clone()))
        .policy(fast_policy(false))
        .start();

    let first = stage.call(Envelope::entering("hello")).await.unwrap();
    assert_eq!(first.payload, "hello@1");

    let crashing = Envelope::entering("panic");
    let crashing_id = crashing.correlation_id;
    let err = stage.call(crashing).await.unwrap_err();
    assert!(matches!(err, StageError::Crashed { .. }), "{err}");
    assert_eq!(err.correlation_id(), crashing_id);
    assert!(err.to_string().contains("injected panic"), "{err}");

    // Same address, fresh state.
    let after = stage.call(Envelope::entering("again")).await.unwrap();
    assert_eq!(after.payload, "again@2");
    let stats = stage.stats();
    assert_eq!(stats.restarts, 1);
    assert_eq!(stats.crashed, 1);
    assert_eq!(stats.handled, 2);
    assert_eq!(builds.load(Ordering::SeqCst), 2);
    stage.shutdown().await;
}

#[actix_rt::test]
async fn message_in_hand_is_retried_once_on_the_rebuilt_state() {
    let builds = Arc::new(AtomicUsize::new(0));
    let stage = StageActor::build("echo", echo_factory(builds.clone()))
        .policy(fast_policy(true))
        .start();
    let answer = stage
        .call(Envelope::entering("panic-on-first-state"))
        .await
        .unwrap();
    assert_eq!(answer.payload, "panic-on-first-state@2");

    // A message that panics on every state is retried once, then answered with an error.
    let err = stage.call(Envelope::entering("panic")).await.unwrap_err();
    assert!(matches!(err, StageError::Crashed { .. }), "{err}");
    assert_eq!(stage.stats().restarts, 3);
    assert_eq!(stage.stats().crashed, 3);
    stage.shutdown().await;
}

#[actix_rt::test]
async fn fatal_errors_restart_but_ordinary_errors_keep_state() {
    let builds = Arc::new(AtomicUsize::new(0));
    let stage = StageActor::build("echo", echo_factory(builds.clone()))
        .policy(fast_policy(false))
        .start();
    let err = stage.call(Envelope::entering("bad")).await.unwrap_err();
    assert!(matches!(err, StageError::Failed { .. }), "{err}");
    assert_eq!(
        stage.call(Envelope::entering("x")).await.unwrap().payload,
        "x@1"
    );

    let err = stage.call(Envelope::entering("corrupt")).await.unwrap_err();
    assert!(matches!(err, StageError::Crashed { .. }), "{err}");
    assert_eq!(
        stage.call(Envelope::entering("y")).await.unwrap().payload,
        "y@2"
    );
    assert_eq!(stage.stats().failed, 1);
    assert_eq!(stage.stats().restarts, 1);
    stage.shutdown().await;
}

struct EscalationCollector(Arc<Mutex<Vec<Escalation>>>);

impl Actor for EscalationCollector {
    type Context = Context<Self>;
}

impl Handler<Escalation> for EscalationCollector {
    type Result = ();
    fn handle(&mut self, msg: Escalation, _: &mut Context<Self>) {
        self.0.lock().unwrap().push(msg);
    }
}

#[actix_rt::test]
async fn exceeding_restart_intensity_escalates_and_answers_with_errors() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let collector = EscalationCollector(seen.clone()).start();
    let builds = Arc::new(AtomicUsize::new(0));
    let stage = StageActor::build("echo", echo_factory(builds.clone()))
        .policy(fast_policy(false))
        .escalate_to(collector.recipient())
        .start();

    // max_restarts = 3: the fourth crash cannot be restarted.
    let mut errors = Vec::new();
    for _ in 0..4 {
        errors.push(stage.call(Envelope::entering("panic")).await.unwrap_err());
    }
    assert!(errors[..3]
        .iter()
        .all(|e| matches!(e, StageError::Crashed { .. })));
    assert!(
        matches!(errors[3], StageError::Escalated { .. }),
        "{}",
        errors[3]
    );

    let later = Envelope::entering("fine");
    let later_id = later.correlation_id;
    let err = stage.call(later).await.unwrap_err();
    assert!(matches!(err, StageError::Escalated { .. }), "{err}");
    assert_eq!(err.correlation_id(), later_id);
    assert!(err.to_string().contains("injected panic"), "{err}");

    actix_rt::time::sleep(Duration::from_millis(50)).await;
    let escalations = seen.lock().unwrap().clone();
    assert_eq!(escalations.len(), 1, "{escalations:?}");
    assert_eq!(escalations[0].stage, "echo");
    assert_eq!(escalations[0].restarts_in_window, 3);
    assert!(stage.stats().escalated);
    assert_eq!(builds.load(Ordering::SeqCst), 4);
    stage.shutdown().await;
}

#[actix_rt::test]
async fn failing_factory_is_retried_when_work_arrives() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let stage = StageActor::build("flaky", move || {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(TestError::Bad)
        } else {
            Ok(Echo { generation: 7 })
        }
    })
    .policy(fast_policy(false))
    .start();
    let answer = stage.call(Envelope::entering("hi")).await.unwrap();
    assert_eq!(answer.payload, "hi@7");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(stage.stats().restarts, 1);
    stage.shutdown().await;
}

/// Appends its name to the payload, to follow a command through a chain.
struct Tag(&'static str, Arc<Mutex<Vec<(CorrelationId, &'static str)>>>);

impl Stage for Tag {
    type Input = String;
    type Output = String;
    type Error = TestError;

    fn handle(&mut self, input: &Envelope<String>) -> Result<String, TestError> {
        self.1.lock().unwrap().push((input.correlation_id, self.0));
        Ok(format!("{} > {}", input.payload, self.0))
    }
}

#[actix_rt::test]
async fn correlation_id_survives_a_chain_of_actors() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Envelope<String>>();

    let l = log.clone();
    let third = StageActor::build("third", move || Ok(Tag("third", l.clone())))
        .downstream(move |env| {
            let _ = done_tx.send(env);
        })
        .start();
    let l = log.clone();
    let next = third.clone();
    let second = StageActor::build("second", move || Ok(Tag("second", l.clone())))
        .downstream(move |env| next.push_always(env))
        .start();
    let l = log.clone();
    let next = second.clone();
    let first = StageActor::build("first", move || Ok(Tag("first", l.clone())))
        .downstream(move |env| next.push_always(env))
        .start();

    let mut sent = Vec::new();
    for i in 0..3 {
        let mut env = Envelope::entering(format!("cmd{i}"));
        env.trace.set("traceparent", format!("00-trace{i}-span-01"));
        sent.push(env.correlation_id);
        first.push(env).unwrap();
    }
    for (i, id) in sent.iter().enumerate() {
        let out = tokio::time::timeout(Duration::from_secs(5), done_rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(out.correlation_id, *id);
        assert_eq!(out.payload, format!("cmd{i} > first > second > third"));
        assert_eq!(
            out.trace.get("traceparent"),
            Some(format!("00-trace{i}-span-01").as_str())
        );
    }
    let seen = log.lock().unwrap().clone();
    for id in &sent {
        let stages: Vec<_> = seen
            .iter()
            .filter(|(c, _)| c == id)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(stages, ["first", "second", "third"]);
    }
    for stage in [&first, &second, &third] {
        stage.shutdown().await;
    }
}

#[actix_rt::test]
async fn shutdown_drains_queued_messages_first() {
    let builds = Arc::new(AtomicUsize::new(0));
    let stage = StageActor::build("echo", echo_factory(builds))
        .policy(fast_policy(false))
        .start();
    let pending: Vec<_> = (0..10)
        .map(|_| {
            let s = stage.clone();
            actix_rt::spawn(async move { s.call(Envelope::entering("q")).await })
        })
        .collect();
    actix_rt::task::yield_now().await;
    stage.shutdown().await;
    let mut answered = 0;
    for p in pending {
        if p.await.unwrap().is_ok() {
            answered += 1;
        }
    }
    assert_eq!(answered, 10);
    let err = stage.call(Envelope::entering("late")).await.unwrap_err();
    assert!(matches!(err, StageError::Unreachable { .. }), "{err}");
}

/// A child that sleeps as long as its job says, then answers with its name.
struct Sleeper;

impl Actor for Sleeper {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "String")]
struct Job {
    name: String,
    sleep: Duration,
}

impl Handler<Job> for Sleeper {
    type Result = ResponseFuture<String>;
    fn handle(&mut self, job: Job, _: &mut Context<Self>) -> Self::Result {
        Box::pin(async move {
            tokio::time::sleep(job.sleep).await;
            format!("{} done", job.name)
        })
    }
}

fn jobs(sleeps: &[(&str, u64)]) -> Vec<(String, Job)> {
    sleeps
        .iter()
        .map(|(name, ms)| {
            (
                name.to_string(),
                Job {
                    name: name.to_string(),
                    sleep: Duration::from_millis(*ms),
                },
            )
        })
        .collect()
}

#[actix_rt::test]
async fn fan_out_joins_all_children_in_parallel() {
    let started = std::time::Instant::now();
    let outcomes = fan_out(
        jobs(&[("a", 100), ("b", 100), ("c", 100), ("d", 100)]),
        |_| Sleeper,
        Duration::from_secs(5),
    )
    .await;
    let names: Vec<_> = outcomes.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    for o in &outcomes {
        assert_eq!(o.result.as_deref(), Ok(format!("{} done", o.name).as_str()));
    }
    // Four 100 ms children in parallel, not in series.
    assert!(
        started.elapsed() < Duration::from_millis(390),
        "{:?}",
        started.elapsed()
    );
}

#[actix_rt::test]
async fn fan_out_names_the_slow_child() {
    let outcomes = fan_out(
        jobs(&[("fast", 10), ("slow", 5_000), ("quick", 20)]),
        |_| Sleeper,
        Duration::from_millis(300),
    )
    .await;
    assert!(outcomes[0].result.is_ok());
    assert!(outcomes[2].result.is_ok());
    match &outcomes[1].result {
        Err(ChildError::Timeout { child, after }) => {
            assert_eq!(child, "slow");
            assert_eq!(*after, Duration::from_millis(300));
        }
        other => panic!("expected a timeout naming the slow child, got {other:?}"),
    }
    assert!(outcomes[1]
        .result
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("slow"));
}

#[actix_rt::test]
async fn fan_out_cancels_running_children() {
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    actix_rt::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = cancel_tx.send(true);
    });
    let outcomes = FanOut::new(Duration::from_secs(5))
        .cancel_on(cancel_rx)
        .run(jobs(&[("instant", 0), ("long", 3_000)]), |_| Sleeper)
        .await;
    assert!(outcomes[0].result.is_ok());
    assert_eq!(
        outcomes[1].result,
        Err(ChildError::Cancelled {
            child: "long".into()
        })
    );
    assert!(outcomes[1].elapsed < Duration::from_secs(1));
}

/// A child whose handler panics: the fan-out reports it as crashed, by name.
struct Crasher;

impl Actor for Crasher {
    type Context = Context<Self>;
}

impl Handler<Job> for Crasher {
    type Result = String;
    fn handle(&mut self, job: Job, _: &mut Context<Self>) -> String {
        if job.name == "boom" {
            panic!("child failure");
        }
        job.name
    }
}

#[actix_rt::test]
async fn fan_out_reports_a_crashed_child() {
    let outcomes = fan_out(
        jobs(&[("ok", 0), ("boom", 0)]),
        |_| Crasher,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(outcomes[0].result.as_deref(), Ok("ok"));
    assert_eq!(
        outcomes[1].result,
        Err(ChildError::Crashed {
            child: "boom".into()
        })
    );
}
