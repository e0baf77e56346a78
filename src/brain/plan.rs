//! Plans: the steps of a command in groups. Steps in one group may run in parallel;
//! a group runs after the groups it depends on; a delayed step gets its own group.

use serde::{Deserialize, Serialize};

use super::{Clause, Link, Slots};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: usize,
    pub intent: String,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub slots: Slots,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: usize,
    /// Step ids; they may run at the same time.
    pub steps: Vec<usize>,
    /// Groups that must finish first.
    pub after: Vec<usize>,
    /// Seconds to wait before starting ("mute in ten minutes").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_s: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub groups: Vec<Group>,
}

impl Plan {
    /// Unknown parts are left out: nothing runs that was not understood.
    pub fn build(clauses: &[Clause]) -> Self {
        let mut plan = Plan::default();
        for clause in clauses.iter().filter(|c| !c.intent.is_unknown()) {
            let id = plan.steps.len();
            plan.steps.push(Step {
                id,
                intent: clause.intent.intent.clone(),
                slots: clause.intent.slots.clone(),
            });
            let joins_last = clause.link == Link::Parallel
                && clause.delay_s.is_none()
                && plan.groups.last().is_some_and(|g| g.delay_s.is_none());
            if joins_last {
                plan.groups.last_mut().expect("checked").steps.push(id);
                continue;
            }
            let after = match (clause.link, plan.groups.last()) {
                (Link::After, Some(previous)) => vec![previous.id],
                // A parallel part that cannot join (delays differ) waits for what the
                // previous group waited for.
                (Link::Parallel, Some(previous)) => previous.after.clone(),
                _ => Vec::new(),
            };
            plan.groups.push(Group {
                id: plan.groups.len(),
                steps: vec![id],
                after,
                delay_s: clause.delay_s,
            });
        }
        plan
    }
}

/// What determines a plan: intents, slots, links and delays.
pub fn cache_key(clauses: &[Clause]) -> String {
    let mut key = String::new();
    for c in clauses {
        key.push_str(&c.intent.intent);
        key.push_str(&serde_json::to_string(&c.intent.slots).unwrap_or_default());
        key.push_str(&format!("|{:?}|{:?};", c.link, c.delay_s));
    }
    key
}
