//! Managing fault rules (`/faults`) and keeping the rules in force in memory.
//!
//! Only an admin makes and deletes rules, for one project or for every one: a rule changes
//! what every client of its project meets, so it is the operator's (or the test harness's)
//! tool, not a member's. Every caller may read the rules that apply to its own project, so
//! a client that meets an injected error can learn why.

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::entropy::Entropy;
use crate::error::{FaultRuleError, StoreError};
use crate::faults::{FaultBook, FaultRule, FaultRuleDraft, InvalidFaultRule, check_max_count};
use crate::ids::{FaultRuleId, ProjectId, ServerId};
use crate::page::{Cursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page};
use crate::ports::{Clock, FaultListing, FaultStore};
use crate::service::input::page_limit;
use crate::state::join;
use crate::tenancy::{Caller, Role};

/// The most rules there may be (as this process last read them): each request that can
/// be hit, and each engine pass, reads every rule in force.
pub const MAX_FAULT_RULES: usize = 1_000;

/// How many rules one read of the store takes when the book is refreshed.
const REFRESH_BATCH: u32 = 500;

/// A rule as a client asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFaultRule {
    /// The project it applies to; every project when `None`.
    pub project: Option<ProjectId>,
    /// At most this many firings.
    pub max_count: Option<i64>,
    /// The matcher and effect.
    pub spec: FaultRuleDraft,
}

/// The fault rules' use cases.
pub struct FaultService {
    store: Arc<dyn FaultStore>,
    clock: Arc<dyn Clock>,
    catalog: Arc<Catalog>,
    book: Arc<FaultBook>,
    ids: Arc<Entropy>,
}

impl FaultService {
    /// The service over its ports; `book` is the process's rules in force, which it
    /// refreshes after each change it makes.
    pub fn new(
        store: Arc<dyn FaultStore>,
        clock: Arc<dyn Clock>,
        catalog: Arc<Catalog>,
        book: Arc<FaultBook>,
    ) -> Self {
        Self {
            store,
            clock,
            catalog,
            book,
            ids: Arc::new(Entropy::os()),
        }
    }

    /// The service drawing the ids of the rules it makes from `ids` (the operating system
    /// by default).
    pub fn with_entropy(mut self, ids: Arc<Entropy>) -> Self {
        self.ids = ids;
        self
    }

    /// Makes a rule (admin only).
    pub async fn create(
        &self,
        caller: &Caller,
        request: NewFaultRule,
    ) -> Result<FaultRule, FaultRuleError> {
        caller.require(Role::Admin)?;
        let (matcher, effect) = request.spec.check()?;
        self.known_names(&matcher.regions, &matcher.server_types)?;
        // Every request and every engine pass reads the rules in force: keep them few.
        if self.book.snapshot().len() >= MAX_FAULT_RULES {
            return Err(FaultRuleError::TooMany {
                max: MAX_FAULT_RULES,
            });
        }
        let rule = FaultRule {
            id: self.ids.fault_rule_id(),
            project: request.project,
            matcher,
            effect,
            max_count: check_max_count(request.max_count)?,
            fired: 0,
            created_at: self.clock.now(),
            spec: request.spec,
        };
        self.store.create_fault(&rule).await?;
        self.refresh().await?;
        Ok(rule)
    }

    /// The rule with this id, if it applies to the caller's project (an admin sees all).
    pub async fn get(&self, caller: &Caller, id: FaultRuleId) -> Result<FaultRule, FaultRuleError> {
        self.store
            .fault(id)
            .await?
            .filter(|rule| sees(caller, rule))
            .ok_or(FaultRuleError::NotFound(id))
    }

    /// A page of the rules the caller sees, oldest first.
    pub async fn list(
        &self,
        caller: &Caller,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<Page<FaultRule>, FaultRuleError> {
        let limit = page_limit(limit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE).map_err(|given| {
            FaultRuleError::BadLimit {
                given,
                max: MAX_PAGE_SIZE,
            }
        })?;
        let after = cursor
            .map(Cursor::decode)
            .transpose()?
            .map(|c| (c.created_at, FaultRuleId::from(c.id.as_uuid())));
        let mut rules = self
            .store
            .faults(&FaultListing {
                visible_to: caller.scope(),
                limit: limit + 1,
                after,
            })
            .await?;
        let next = if rules.len() > limit as usize {
            rules.truncate(limit as usize);
            rules.last().map(cursor_of)
        } else {
            None
        };
        Ok(Page { items: rules, next })
    }

    /// Deletes a rule (admin only); it stops firing in this process at once, in others
    /// within their next refresh. The transitions it held stuck go on: each falls due now.
    pub async fn delete(&self, caller: &Caller, id: FaultRuleId) -> Result<(), FaultRuleError> {
        caller.require(Role::Admin)?;
        if !self.store.delete_fault(id).await? {
            return Err(FaultRuleError::NotFound(id));
        }
        self.store.release_stuck(id, self.clock.now()).await?;
        self.refresh().await?;
        Ok(())
    }

    /// Reads every rule from the store into the book; how many are in force.
    pub async fn refresh(&self) -> Result<usize, StoreError> {
        let mut rules = Vec::new();
        let mut after = None;
        loop {
            let batch = self
                .store
                .faults(&FaultListing {
                    visible_to: None,
                    limit: REFRESH_BATCH,
                    after,
                })
                .await?;
            let full = batch.len() == REFRESH_BATCH as usize;
            after = batch.last().map(|rule| (rule.created_at, rule.id));
            rules.extend(batch);
            if !full {
                break;
            }
        }
        let count = rules.len();
        self.book.replace(rules);
        Ok(count)
    }

    fn known_names(&self, regions: &[String], types: &[String]) -> Result<(), InvalidFaultRule> {
        if let Some(region) = regions.iter().find(|r| self.catalog.region(r).is_none()) {
            return Err(InvalidFaultRule {
                field: "regions",
                reason: format!(
                    "unknown region '{region}'; known regions: {}",
                    join(self.catalog.regions().iter().map(|r| r.name.as_str()))
                ),
            });
        }
        if let Some(name) = types.iter().find(|t| self.catalog.server_type(t).is_none()) {
            return Err(InvalidFaultRule {
                field: "server_types",
                reason: format!(
                    "unknown server type '{name}'; known types: {}",
                    join(self.catalog.server_types().iter().map(|t| t.name.as_str()))
                ),
            });
        }
        Ok(())
    }
}

/// Whether the caller sees the rule: an admin every one, others those of their project and
/// those for every project.
fn sees(caller: &Caller, rule: &FaultRule) -> bool {
    match (caller.scope(), rule.project) {
        (None, _) | (_, None) => true,
        (Some(own), Some(project)) => own == project,
    }
}

/// Where the page after `rule` starts (the list cursor's form, with the rule's id).
fn cursor_of(rule: &FaultRule) -> Cursor {
    Cursor {
        created_at: rule.created_at,
        id: ServerId::from(rule.id.as_uuid()),
    }
}
