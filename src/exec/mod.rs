//! The executor's logic: a plan in, one result (and a short spoken response) per step.
//!
//! Every effect outside LUNA goes through [`effects::Effects`]: in dry-run mode it
//! records exactly what would have run (program and arguments, SQL) instead of running
//! it. Destructive intents need a confirmation turn; allow/deny lists decide what may
//! run at all. No user text ever reaches a shell: programs get arguments, not command
//! lines. The ExecutorActor (in `pipeline`) adds the child actor per parallel step.

pub mod actions;
pub mod apps;
pub mod confirm;
pub mod effects;
pub mod ics;
pub mod index;
pub mod mpris;
pub mod schedule;
pub mod timers;

use serde::Serialize;

use crate::brain::{Group, Intent, Plan, Step};
pub use effects::{DryRunRecord, Effects};

/// Intents that change or end the user's session: they run only after a "yes".
pub const DESTRUCTIVE: &[&str] = &["system.shutdown", "system.restart", "system.sleep"];

/// Whether a step runs only after a "yes": the destructive intents, and emptying a
/// whole list or clearing a day's calendar (a step that names no one item).
pub fn needs_confirmation(step: &Step) -> bool {
    let intent = step.intent.as_str();
    DESTRUCTIVE.contains(&intent)
        || (intent == "list.remove" && !step.slots.contains_key("item"))
        || (intent == "calendar.cancel" && !step.slots.contains_key("title"))
}

/// What happened to one step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepResult {
    pub intent: String,
    pub ok: bool,
    /// What LUNA says about it.
    pub response: String,
    /// In dry-run mode: what would have run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dry_run: Vec<DryRunRecord>,
    /// The step waits for a yes/no turn.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub needs_confirmation: bool,
    /// It failed in a way worth retrying (busy, not answering).
    #[serde(skip)]
    pub transient: bool,
    /// Attempts made after the first (transient failures only).
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Pauses before each retry of a transiently failed step; their count is the number
/// of retries. Destructive steps are never retried.
pub const RETRY_BACKOFF: &[std::time::Duration] = &[
    std::time::Duration::from_millis(100),
    std::time::Duration::from_millis(400),
];

impl StepResult {
    pub fn ok(intent: &str, response: impl Into<String>) -> Self {
        Self {
            intent: intent.to_owned(),
            ok: true,
            response: response.into(),
            dry_run: Vec::new(),
            needs_confirmation: false,
            transient: false,
            retries: 0,
        }
    }

    pub fn failed(intent: &str, response: impl Into<String>) -> Self {
        Self {
            ok: false,
            ..Self::ok(intent, response)
        }
    }
}

/// Executor settings (from `[exec]`, and `[files] roots` for folders).
#[derive(Clone, Debug, Default)]
pub struct ExecSettings {
    pub dry_run: bool,
    /// When not empty, only these intents run.
    pub allow: Vec<String>,
    /// These intents never run.
    pub deny: Vec<String>,
    /// The browser search URL; `{query}` is replaced by the URL-encoded query.
    pub search_url: String,
    /// Where a folder named by the user may be (`[files] roots`; empty: the home
    /// directory). Nothing outside them is opened.
    pub roots: Vec<std::path::PathBuf>,
}

impl ExecSettings {
    pub fn from_config(config: &crate::config::Config) -> Self {
        let c = &config.exec;
        Self {
            dry_run: c.dry_run,
            allow: c.allow.clone(),
            deny: c.deny.clone(),
            search_url: c.search_url.clone(),
            roots: index::roots(&config.files.roots),
        }
    }

    /// The roots folders are confined to.
    pub fn roots(&self) -> Vec<std::path::PathBuf> {
        if self.roots.is_empty() {
            index::roots(&[])
        } else {
            self.roots.clone()
        }
    }

    fn permits(&self, intent: &str) -> bool {
        let matches = |pattern: &String| {
            pattern == intent
                || pattern
                    .strip_suffix(".*")
                    .is_some_and(|p| intent.starts_with(&format!("{p}.")))
        };
        !self.deny.iter().any(matches) && (self.allow.is_empty() || self.allow.iter().any(matches))
    }
}

/// Runs steps. One per pipeline; child actors each get their own (they share the store).
pub struct Executor {
    pub settings: ExecSettings,
    pub effects: Effects,
}

impl Executor {
    pub fn new(settings: ExecSettings, effects: Effects) -> Self {
        Self { settings, effects }
    }

    /// Runs one step. `confirmed`: the user already said yes to it.
    pub fn run_step(&mut self, step: &Step, confirmed: bool) -> StepResult {
        let intent = step.intent.as_str();
        if !self.settings.permits(intent) {
            return StepResult::failed(intent, "That action is turned off in my settings.");
        }
        if needs_confirmation(step) && !confirmed {
            let slot = |k: &str| step.slots.get(k).and_then(serde_json::Value::as_str);
            let what = match intent {
                "system.shutdown" => "shut down the computer".to_owned(),
                "system.restart" => "restart the computer".to_owned(),
                "list.remove" => format!("empty your {} list", slot("list").unwrap_or("shopping")),
                "calendar.cancel" => match slot("date") {
                    Some(d) => format!(
                        "cancel everything on your calendar for {}",
                        actions::say_date_slot(d)
                    ),
                    None => "cancel every event on your calendar".to_owned(),
                },
                _ => "put the computer to sleep".to_owned(),
            };
            return StepResult {
                needs_confirmation: true,
                ..StepResult::ok(intent, format!("Are you sure you want to {what}?"))
            };
        }
        let mut retries = 0;
        loop {
            self.effects.begin_step();
            let mut result = actions::run(intent, step, &mut self.effects, &self.settings);
            result.dry_run = self.effects.take_records();
            let backoff = RETRY_BACKOFF.get(retries as usize);
            match backoff {
                Some(pause) if result.transient && !DESTRUCTIVE.contains(&intent) => {
                    tracing::info!(intent, retry = retries + 1, reason = %result.response, "retrying a step that failed transiently");
                    std::thread::sleep(*pause);
                    retries += 1;
                }
                _ => {
                    result.retries = retries;
                    return result;
                }
            }
        }
    }

    /// Runs a whole plan in order, group by group (the actor runs a group's steps in
    /// parallel; here they run one after another). `confirmed`: the user said yes to
    /// its steps.
    pub fn run_plan(&mut self, plan: &Plan, confirmed: bool) -> Vec<StepResult> {
        let mut run = PlanRun::new(plan);
        for group in &plan.groups {
            if run.settle(group, &mut self.effects) {
                continue;
            }
            for &s in &group.steps {
                let result = self.run_step(&plan.steps[s], confirmed);
                run.record(group, s, result);
            }
        }
        run.finish()
    }
}

/// The bookkeeping of running a plan, shared by `Executor::run_plan` and the
/// ExecutorActor: a failed step fails the groups that wait for its group (with a
/// reason), and delayed groups are stored to run when due.
pub struct PlanRun<'a> {
    plan: &'a Plan,
    results: Vec<Option<StepResult>>,
    failed_groups: Vec<usize>,
}

impl<'a> PlanRun<'a> {
    pub fn new(plan: &'a Plan) -> Self {
        Self {
            plan,
            results: vec![None; plan.steps.len()],
            failed_groups: Vec::new(),
        }
    }

    /// Settles a group that must not run now (a dependency failed, or it is delayed).
    /// Returns true when it did; false when the group's steps should run.
    pub fn settle(&mut self, group: &Group, effects: &mut Effects) -> bool {
        if let Some(bad) = group.after.iter().find(|g| self.failed_groups.contains(*g)) {
            let reason = format!("I skipped this because step group {bad} failed.");
            for &s in &group.steps {
                self.results[s] = Some(StepResult::failed(
                    &self.plan.steps[s].intent,
                    reason.clone(),
                ));
            }
            self.failed_groups.push(group.id);
            return true;
        }
        let Some(delay) = group.delay_s else {
            return false;
        };
        for &s in &group.steps {
            let step = &self.plan.steps[s];
            let stored = effects.write(
                "INSERT INTO delayed_steps (intent, slots_json, due_at_ms, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
                vec![
                    step.intent.clone().into(),
                    serde_json::to_string(&step.slots).unwrap_or_default().into(),
                    (crate::store::now_ms() + delay as i64 * 1000).into(),
                    crate::store::now_ms().into(),
                ],
            );
            let result = match stored {
                Ok(_) => StepResult::ok(
                    &step.intent,
                    format!("OK, in {}.", actions::say_duration(delay)),
                ),
                Err(e) => {
                    StepResult::failed(&step.intent, format!("I couldn't schedule that: {e}."))
                }
            };
            self.record(group, s, result);
        }
        true
    }

    pub fn record(&mut self, group: &Group, step: usize, result: StepResult) {
        if !result.ok && !self.failed_groups.contains(&group.id) {
            self.failed_groups.push(group.id);
        }
        self.results[step] = Some(result);
    }

    pub fn finish(self) -> Vec<StepResult> {
        self.results.into_iter().flatten().collect()
    }
}

/// The reply for an utterance nobody understood.
pub fn not_understood() -> &'static str {
    "Sorry, I didn't understand that."
}

/// One spoken response for a whole command.
pub fn response(results: &[StepResult], intents: &[Intent]) -> String {
    if results.is_empty() {
        return if intents.iter().all(Intent::is_unknown) {
            not_understood().to_owned()
        } else {
            String::new()
        };
    }
    results
        .iter()
        .map(|r| r.response.as_str())
        .filter(|r| !r.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
