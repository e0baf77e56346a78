//! The confirmation turn: a destructive step answers "Are you sure …?" and waits; the
//! next command decides. "yes" runs the waiting steps, "no" (or "cancel", "stop")
//! drops them, anything else drops them and is done instead, and silence past the
//! timeout counts as no. One conversation, one waiting question at most.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::brain::{Group, Intent, Plan};

use super::StepResult;

pub const CONFIRM: &str = "assistant.confirm";
pub const DENY: &str = "assistant.deny";

/// Steps waiting for a yes, until a deadline.
struct Waiting {
    plan: Arc<Plan>,
    until: Instant,
}

pub struct Confirmations {
    waiting: Option<Waiting>,
    timeout: Duration,
}

/// What to do with a command, given the question (if any) it answers.
#[derive(Debug, PartialEq)]
pub enum Turn {
    /// Run this plan; `confirmed`: its steps were said yes to.
    Run { plan: Arc<Plan>, confirmed: bool },
    /// Nothing runs; this is the answer.
    Answer(StepResult),
}

impl Confirmations {
    pub fn new(timeout: Duration) -> Self {
        Self {
            waiting: None,
            timeout,
        }
    }

    /// Decides the turn for a command understood as `intents` with `plan`.
    pub fn turn(&mut self, intents: &[Intent], plan: Arc<Plan>, now: Instant) -> Turn {
        let waiting = self.waiting.take().filter(|w| now <= w.until);
        let only = match intents {
            [one] => one.intent.as_str(),
            _ => "",
        };
        match (waiting, only) {
            (Some(w), CONFIRM) => Turn::Run {
                plan: w.plan,
                confirmed: true,
            },
            (Some(_), DENY | "assistant.cancel" | "assistant.stop") => {
                Turn::Answer(StepResult::ok(only, "OK, I won't."))
            }
            // No question is open (or it timed out): the command stands on its own;
            // a "yes" then has nothing to confirm (the action says so).
            _ => Turn::Run {
                plan,
                confirmed: false,
            },
        }
    }

    /// The steps waiting for a yes, if the question is still open at `now`.
    pub fn waiting(&self, now: Instant) -> Option<&Plan> {
        self.waiting
            .as_ref()
            .filter(|w| now <= w.until)
            .map(|w| w.plan.as_ref())
    }

    /// Reopens a question an earlier process asked: `plan` (the steps that asked, as
    /// [`Self::waiting`] gave them) waits for a yes until `until`.
    pub fn reopen(&mut self, plan: Plan, until: Instant) {
        self.waiting = Some(Waiting {
            plan: Arc::new(plan),
            until,
        });
    }

    /// After a plan ran: the steps that asked "Are you sure?" wait for the next turn.
    pub fn ask(&mut self, plan: &Plan, results: &[StepResult], now: Instant) {
        let steps: Vec<_> = plan
            .steps
            .iter()
            .zip(results)
            .filter(|(_, r)| r.needs_confirmation)
            .map(|(s, _)| s.clone())
            .collect();
        if steps.is_empty() {
            return;
        }
        let ids = (0..steps.len()).collect();
        let steps = steps
            .into_iter()
            .enumerate()
            .map(|(id, s)| crate::brain::Step { id, ..s })
            .collect();
        self.waiting = Some(Waiting {
            plan: Arc::new(Plan {
                steps,
                groups: vec![Group {
                    id: 0,
                    steps: ids,
                    after: Vec::new(),
                    delay_s: None,
                }],
            }),
            until: now + self.timeout,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brain::{Brain, BrainModel, BrainSettings};

    fn brain() -> Brain {
        Brain::new(
            Arc::new(BrainModel::builtin().unwrap()),
            BrainSettings::default(),
        )
    }

    fn asked(plan: &Plan) -> Vec<StepResult> {
        plan.steps
            .iter()
            .map(|s| StepResult {
                needs_confirmation: super::super::needs_confirmation(s),
                ..StepResult::ok(&s.intent, "")
            })
            .collect()
    }

    #[test]
    fn yes_runs_only_the_steps_that_asked() {
        let mut brain = brain();
        let mut c = Confirmations::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let u = brain.understand("play some music and shut down the computer");
        c.ask(&u.plan, &asked(&u.plan), t0);
        let yes = brain.understand("yes");
        assert_eq!(yes.intents[0].intent, CONFIRM);
        match c.turn(&yes.intents, yes.plan, t0 + Duration::from_secs(3)) {
            Turn::Run { plan, confirmed } => {
                assert!(confirmed);
                let intents: Vec<_> = plan.steps.iter().map(|s| s.intent.as_str()).collect();
                assert_eq!(intents, ["system.shutdown"]);
                assert_eq!(plan.groups[0].steps, [0]);
            }
            other => panic!("{other:?}"),
        }
        // Answered once: a second yes has nothing to confirm.
        let again = brain.understand("yes");
        assert!(matches!(
            c.turn(&again.intents, again.plan, t0),
            Turn::Run {
                confirmed: false,
                ..
            }
        ));
    }

    #[test]
    fn no_cancel_another_command_or_silence_mean_no() {
        let mut brain = brain();
        let t0 = Instant::now();
        let shutdown = brain.understand("shut down the computer");
        for (answer, after_s, runs) in [
            ("no", 1, None),
            ("cancel", 1, None),
            ("what time is it", 1, Some("time.now")),
            ("yes", 11, Some(CONFIRM)),
        ] {
            let mut c = Confirmations::new(Duration::from_secs(10));
            c.ask(&shutdown.plan, &asked(&shutdown.plan), t0);
            let u = brain.understand(answer);
            match (
                c.turn(&u.intents, u.plan, t0 + Duration::from_secs(after_s)),
                runs,
            ) {
                (Turn::Answer(r), None) => assert_eq!(r.response, "OK, I won't."),
                (Turn::Run { plan, confirmed }, Some(intent)) => {
                    assert!(!confirmed, "{answer}");
                    assert_eq!(plan.steps[0].intent, intent, "{answer}");
                }
                (turn, _) => panic!("{answer}: {turn:?}"),
            }
        }
    }
}
