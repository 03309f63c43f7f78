//! Policy slicing: for each request shape, only the policies whose scope can
//! match it.
//!
//! Cedar's authoriser evaluates every policy of the set it is given. A
//! policy whose scope (`principal …, action …, resource …`) cannot match a
//! request contributes nothing to its decision — not a reason, not an error,
//! since a scope is evaluated before the conditions and cannot fail. So the
//! set is split once, when the engine is built:
//!
//! * by action and by the types of principal and resource (every request
//!   names all three);
//! * within that, by *anchor*: a policy whose principal scope names an
//!   entity (`principal == Agent::"a"`, `principal in Team::"t"`) is filed
//!   under that entity, since it can only match a principal that is the
//!   entity or one of its members; failing that, a policy whose resource
//!   scope names one is filed under the resource's; the rest are general.
//!
//! A request evaluates the general policies, and the policies filed under
//! its principal, its resource and their ancestors (teams, systems). The
//! sets are disjoint, and [`combine`] joins their answers exactly as Cedar
//! would have answered for their union (forbid wins; the reasons are the
//! satisfied policies of the winning effect; the errors are all errors). The
//! differential tests check that sliced and unsliced answers are identical.

use std::collections::{BTreeSet, HashMap};

use cedar_policy::{
    ActionConstraint, Authorizer, Decision, Entities, EntityTypeName, EntityUid, Policy, PolicySet,
    PrincipalConstraint, Request, ResourceConstraint, Response,
};

use crate::schema::{ACTIONS, EntityType};

/// A scope constraint on the principal or the resource.
enum Scope {
    Any,
    Eq(EntityUid),
    In(EntityUid),
    Is(EntityTypeName),
    IsIn(EntityTypeName, EntityUid),
}

impl From<PrincipalConstraint> for Scope {
    fn from(constraint: PrincipalConstraint) -> Self {
        match constraint {
            PrincipalConstraint::Any => Scope::Any,
            PrincipalConstraint::Eq(uid) => Scope::Eq(uid),
            PrincipalConstraint::In(uid) => Scope::In(uid),
            PrincipalConstraint::Is(name) => Scope::Is(name),
            PrincipalConstraint::IsIn(name, uid) => Scope::IsIn(name, uid),
        }
    }
}

impl From<ResourceConstraint> for Scope {
    fn from(constraint: ResourceConstraint) -> Self {
        match constraint {
            ResourceConstraint::Any => Scope::Any,
            ResourceConstraint::Eq(uid) => Scope::Eq(uid),
            ResourceConstraint::In(uid) => Scope::In(uid),
            ResourceConstraint::Is(name) => Scope::Is(name),
            ResourceConstraint::IsIn(name, uid) => Scope::IsIn(name, uid),
        }
    }
}

fn type_of(uid: &EntityUid) -> Option<EntityType> {
    EntityType::parse(&uid.type_name().to_string())
}

fn named(name: &EntityTypeName) -> Option<EntityType> {
    EntityType::parse(&name.to_string())
}

impl Scope {
    /// Whether an entity of type `of` can satisfy the constraint.
    fn admits(&self, of: EntityType) -> bool {
        let within = |uid: &EntityUid| type_of(uid).is_some_and(|ancestor| of.can_be_in(ancestor));
        match self {
            Scope::Any => true,
            Scope::Eq(uid) => type_of(uid) == Some(of),
            Scope::In(uid) => within(uid),
            Scope::Is(name) => named(name) == Some(of),
            Scope::IsIn(name, uid) => named(name) == Some(of) && within(uid),
        }
    }

    /// The entity every match is, or is a member of.
    fn anchor(&self) -> Option<&EntityUid> {
        match self {
            Scope::Eq(uid) | Scope::In(uid) | Scope::IsIn(_, uid) => Some(uid),
            Scope::Any | Scope::Is(_) => None,
        }
    }
}

fn admits_action(constraint: &ActionConstraint, action: &EntityUid) -> bool {
    match constraint {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(uid) => uid == action,
        ActionConstraint::In(uids) => uids.contains(action),
    }
}

/// The policies that can match one request shape.
#[derive(Debug, Default)]
struct Slice {
    /// Policies with no anchor.
    general: Option<PolicySet>,
    /// Policies by principal anchor.
    by_principal: HashMap<EntityUid, PolicySet>,
    /// Policies by resource anchor (and no principal anchor).
    by_resource: HashMap<EntityUid, PolicySet>,
}

/// The policy set, sliced by request shape.
#[derive(Debug)]
pub(crate) struct Slices {
    /// Indexed by [`Slices::index`].
    slices: Vec<Slice>,
    authorizer: Authorizer,
}

const TYPES: usize = EntityType::ALL.len();

impl Slices {
    fn index(action: usize, principal: EntityType, resource: EntityType) -> usize {
        let position = |t: EntityType| EntityType::ALL.iter().position(|x| *x == t).unwrap_or_default();
        (action * TYPES + position(principal)) * TYPES + position(resource)
    }

    /// Slices `policies`.
    pub(crate) fn new(policies: &[Policy]) -> Self {
        let scopes: Vec<(ActionConstraint, Scope, Scope)> = policies
            .iter()
            .map(|p| (p.action_constraint(), p.principal_constraint().into(), p.resource_constraint().into()))
            .collect();
        let mut slices: Vec<Slice> = (0..ACTIONS.len() * TYPES * TYPES).map(|_| Slice::default()).collect();
        for (action_index, action) in ACTIONS.iter().enumerate() {
            let action_uid = action.uid();
            for &principal_type in action.principals {
                for &resource_type in action.resources {
                    let slice = &mut slices[Self::index(action_index, principal_type, resource_type)];
                    let mut by_principal: HashMap<EntityUid, Vec<&Policy>> = HashMap::new();
                    let mut by_resource: HashMap<EntityUid, Vec<&Policy>> = HashMap::new();
                    let mut general = Vec::new();
                    for (policy, (actions, principal, resource)) in policies.iter().zip(&scopes) {
                        if !admits_action(actions, &action_uid)
                            || !principal.admits(principal_type)
                            || !resource.admits(resource_type)
                        {
                            continue;
                        }
                        match (principal.anchor(), resource.anchor()) {
                            (Some(anchor), _) => by_principal.entry(anchor.clone()).or_default().push(policy),
                            (None, Some(anchor)) => {
                                by_resource.entry(anchor.clone()).or_default().push(policy)
                            }
                            (None, None) => general.push(policy),
                        }
                    }
                    slice.general = (!general.is_empty()).then(|| set(general));
                    slice.by_principal = by_principal.into_iter().map(|(uid, own)| (uid, set(own))).collect();
                    slice.by_resource = by_resource.into_iter().map(|(uid, own)| (uid, set(own))).collect();
                }
            }
        }
        Self { slices, authorizer: Authorizer::new() }
    }

    /// Cedar's answer to `request` over the policies that can match it.
    pub(crate) fn authorize(
        &self,
        request: &Request,
        shape: (usize, EntityType, EntityType),
        principal: &EntityUid,
        resource: &EntityUid,
        entities: &Entities,
    ) -> Outcome {
        let (action, principal_type, resource_type) = shape;
        let slice = &self.slices[Self::index(action, principal_type, resource_type)];
        let mut outcome = Outcome::default();
        let mut evaluate = |set: &PolicySet| {
            let answer = Outcome::of(&self.authorizer.is_authorized(request, set, entities));
            outcome = combine(std::mem::take(&mut outcome), answer);
        };
        if let Some(general) = &slice.general {
            evaluate(general);
        }
        for (index, entity) in [(&slice.by_principal, principal), (&slice.by_resource, resource)] {
            if index.is_empty() {
                continue;
            }
            let ancestors = entities.ancestors(entity).into_iter().flatten();
            for anchor in std::iter::once(entity).chain(ancestors) {
                if let Some(set) = index.get(anchor) {
                    evaluate(set);
                }
            }
        }
        outcome
    }

    /// How many policies a request of this shape evaluates at most
    /// (for statistics and tests): the general ones and the largest group
    /// filed under one principal and one resource.
    pub(crate) fn widest(&self, action: usize, principal: EntityType, resource: EntityType) -> usize {
        let slice = &self.slices[Self::index(action, principal, resource)];
        let count = |set: &PolicySet| set.policies().count();
        slice.general.as_ref().map_or(0, count)
            + slice.by_principal.values().map(count).max().unwrap_or(0)
            + slice.by_resource.values().map(count).max().unwrap_or(0)
    }
}

fn set(policies: Vec<&Policy>) -> PolicySet {
    let mut set = PolicySet::new();
    for policy in policies {
        // INVARIANT: ids are unique in the engine's set, so in any subset.
        set.add(policy.clone()).unwrap_or_else(|_| unreachable!("policy ids are unique"));
    }
    set
}

/// Cedar's answer, in a form that can be compared and combined. The
/// default is the answer of no policies: deny, for no reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Whether Cedar allowed.
    pub allow: bool,
    /// The satisfied policies of the deciding effect (permits when allowed,
    /// forbids when denied), sorted.
    pub reasons: BTreeSet<String>,
    /// Evaluation errors, sorted.
    pub errors: BTreeSet<String>,
}

impl Outcome {
    /// The outcome of a Cedar response.
    pub fn of(response: &Response) -> Self {
        Self {
            allow: response.decision() == Decision::Allow,
            reasons: response.diagnostics().reason().map(ToString::to_string).collect(),
            errors: response.diagnostics().errors().map(ToString::to_string).collect(),
        }
    }
}

/// The answer Cedar gives over the union of two disjoint policy sets, from
/// its answers over each.
pub(crate) fn combine(a: Outcome, b: Outcome) -> Outcome {
    let forbids = |o: &Outcome| !o.allow && !o.reasons.is_empty();
    let (a_forbids, b_forbids) = (forbids(&a), forbids(&b));
    let mut errors = a.errors;
    errors.extend(b.errors);
    let reasons = match (a_forbids, b_forbids) {
        (false, false) => {
            let mut permits = a.reasons;
            permits.extend(b.reasons);
            return Outcome { allow: !permits.is_empty(), reasons: permits, errors };
        }
        (true, false) => a.reasons,
        (false, true) => b.reasons,
        (true, true) => a.reasons.into_iter().chain(b.reasons).collect(),
    };
    Outcome { allow: false, reasons, errors }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(allow: bool, reasons: &[&str]) -> Outcome {
        Outcome { allow, reasons: reasons.iter().map(|r| (*r).to_owned()).collect(), errors: BTreeSet::new() }
    }

    #[test]
    fn combining_follows_cedar() {
        let nothing = outcome(false, &[]);
        assert_eq!(combine(nothing.clone(), nothing.clone()), nothing);
        assert_eq!(combine(outcome(true, &["p"]), nothing.clone()), outcome(true, &["p"]));
        assert_eq!(combine(nothing.clone(), outcome(true, &["q"])), outcome(true, &["q"]));
        assert_eq!(combine(outcome(true, &["p"]), outcome(true, &["q"])), outcome(true, &["p", "q"]));
        assert_eq!(combine(outcome(true, &["p"]), outcome(false, &["f"])), outcome(false, &["f"]));
        assert_eq!(combine(outcome(false, &["f"]), outcome(true, &["q"])), outcome(false, &["f"]));
        assert_eq!(combine(outcome(false, &["f"]), outcome(false, &["g"])), outcome(false, &["f", "g"]));
    }
}
