//! Roles, permissions and the matrix between them. docs/api.md renders the same matrix
//! (a test keeps them equal).

use serde::{Deserialize, Serialize};

use pipelines::forms::Group;

/// A role a token or user has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Finance,
    Manager,
    Operator,
    Integrator,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Finance,
        Role::Manager,
        Role::Operator,
        Role::Integrator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Finance => "finance",
            Role::Manager => "manager",
            Role::Operator => "operator",
            Role::Integrator => "integrator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Something a request may need to be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Perm {
    /// Read form schemas and entered records.
    FormsRead,
    /// Submit or correct forms of a group.
    FormsWrite(Group),
    /// Read-only SQL on the lake.
    Query,
    /// Named metrics.
    Metrics,
    /// Read reconciliation results and the exception queue.
    ReconRead,
    /// Start reconciliation runs; resolve, ignore, reopen or annotate breaks.
    ReconAct,
    /// List connectors and their state.
    ConnectorsRead,
    /// Register connectors, set their secrets, test and sync them.
    ConnectorsWrite,
    /// List jobs and their status.
    JobsRead,
    /// Trigger jobs.
    JobsRun,
    /// Salaries (table and form records).
    Payroll,
    /// Create and revoke tokens and users; read the audit log.
    Admin,
}

impl Perm {
    /// Every permission, for the matrix.
    pub const ALL: [Perm; 14] = [
        Perm::FormsRead,
        Perm::FormsWrite(Group::Finance),
        Perm::FormsWrite(Group::Operations),
        Perm::FormsWrite(Group::Catalog),
        Perm::Query,
        Perm::Metrics,
        Perm::ReconRead,
        Perm::ReconAct,
        Perm::ConnectorsRead,
        Perm::ConnectorsWrite,
        Perm::JobsRead,
        Perm::JobsRun,
        Perm::Payroll,
        Perm::Admin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Perm::FormsRead => "forms: read",
            Perm::FormsWrite(Group::Finance) => {
                "forms: write finance (payments, COD, expenses, salaries)"
            }
            Perm::FormsWrite(Group::Operations) => {
                "forms: write operations (orders, returns, stock, purchasing, traffic)"
            }
            Perm::FormsWrite(Group::Catalog) => {
                "forms: write catalog (products, categories, brands, suppliers, campaigns)"
            }
            Perm::Query => "read-only SQL",
            Perm::Metrics => "metrics",
            Perm::ReconRead => "reconciliation: read",
            Perm::ReconAct => "reconciliation: run, resolve, ignore",
            Perm::ConnectorsRead => "connectors: read",
            Perm::ConnectorsWrite => "connectors: register, secrets, test, sync",
            Perm::JobsRead => "jobs: read",
            Perm::JobsRun => "jobs: trigger",
            Perm::Payroll => "salaries",
            Perm::Admin => "tokens, users, audit log",
        }
    }
}

/// Whether `role` has `perm`.
pub fn allows(role: Role, perm: Perm) -> bool {
    use Perm as P;
    match role {
        Role::Admin => true,
        Role::Finance => matches!(
            perm,
            P::FormsRead
                | P::FormsWrite(Group::Finance)
                | P::Query
                | P::Metrics
                | P::ReconRead
                | P::ReconAct
                | P::JobsRead
                | P::Payroll
        ),
        Role::Manager => matches!(
            perm,
            P::FormsRead
                | P::Query
                | P::Metrics
                | P::ReconRead
                | P::ConnectorsRead
                | P::JobsRead
                | P::Payroll
        ),
        Role::Operator => matches!(
            perm,
            P::FormsRead
                | P::FormsWrite(Group::Operations)
                | P::FormsWrite(Group::Catalog)
                | P::Metrics
        ),
        Role::Integrator => matches!(
            perm,
            P::Query | P::ConnectorsRead | P::ConnectorsWrite | P::JobsRead | P::JobsRun
        ),
    }
}

/// The matrix as Markdown (docs/api.md embeds it verbatim).
pub fn matrix_markdown() -> String {
    let mut s = String::from("| permission |");
    for r in Role::ALL {
        s.push_str(&format!(" {} |", r.as_str()));
    }
    s.push_str("\n|---|");
    for _ in Role::ALL {
        s.push_str(":-:|");
    }
    for p in Perm::ALL {
        s.push_str(&format!("\n| {} |", p.name()));
        for r in Role::ALL {
            s.push_str(if allows(r, p) { " ✓ |" } else { "   |" });
        }
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_show_the_permission_matrix_the_code_enforces() {
        let doc = include_str!("../../../docs/api.md");
        assert!(
            doc.contains(&matrix_markdown()),
            "docs/api.md is out of date; its matrix must be:\n{}",
            matrix_markdown()
        );
    }
}
