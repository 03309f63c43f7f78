//! A fast path for the common shape of business rules: comparisons,
//! arithmetic and logic over a row's fields and literals (`cost_usd >= 0`,
//! `end_date >= start_date`, `status in ['open', 'closed']`,
//! `id.startsWith('POL-')`).
//!
//! The expression is parsed by the `cel` crate; this module only walks the
//! tree it produced, and only for the subset above. Whenever it cannot
//! decide — an operator outside the subset, mixed types, an overflow, a
//! division by zero, a result that is not a boolean — it says so, and the
//! rule runs on `cel`'s interpreter for that row, so every verdict and
//! every error message is the interpreter's. A differential property test
//! checks the two agree.

use cel::common::ast::{Expr, IdedExpr, LiteralValue, operators};

use crate::rules::Typed;

/// A value the fast path computes with.
#[derive(Debug, Clone, PartialEq)]
enum Value<'r> {
    Int(i64),
    Num(f64),
    Bool(bool),
    Text(std::borrow::Cow<'r, str>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compare {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextTest {
    StartsWith,
    EndsWith,
    Contains,
}

/// A rule compiled for the fast path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fast {
    Int(i64),
    Num(f64),
    Bool(bool),
    Text(String),
    /// The value of the rule's `n`th variable.
    Var(usize),
    Not(Box<Fast>),
    Negate(Box<Fast>),
    And(Box<Fast>, Box<Fast>),
    Or(Box<Fast>, Box<Fast>),
    Compare(Compare, Box<Fast>, Box<Fast>),
    Arith(Arith, Box<Fast>, Box<Fast>),
    In(Box<Fast>, Vec<Fast>),
    Size(Box<Fast>),
    Matches(TextTest, Box<Fast>, Box<Fast>),
}

impl Fast {
    /// Compiles `expression` when all of it is in the subset; `variables`
    /// names the rule's variables in slot order.
    pub(crate) fn compile(expression: &IdedExpr, variables: &[&str]) -> Option<Fast> {
        let node = |e: &IdedExpr| Fast::compile(e, variables).map(Box::new);
        Some(match &expression.expr {
            Expr::Literal(LiteralValue::Int(v)) => Fast::Int(*v.inner()),
            Expr::Literal(LiteralValue::Double(v)) => Fast::Num(*v.inner()),
            Expr::Literal(LiteralValue::Boolean(v)) => Fast::Bool(*v.inner()),
            Expr::Literal(LiteralValue::String(v)) => Fast::Text(v.inner().to_owned()),
            Expr::Ident(name) => Fast::Var(variables.iter().position(|v| v == name)?),
            Expr::Call(call) => {
                let args = &call.args;
                match (call.func_name.as_str(), &call.target, args.len()) {
                    (operators::LOGICAL_NOT, None, 1) => Fast::Not(node(&args[0])?),
                    (operators::NEGATE, None, 1) => Fast::Negate(node(&args[0])?),
                    (operators::LOGICAL_AND, None, 2) => Fast::And(node(&args[0])?, node(&args[1])?),
                    (operators::LOGICAL_OR, None, 2) => Fast::Or(node(&args[0])?, node(&args[1])?),
                    (op, None, 2) if compare(op).is_some() => {
                        Fast::Compare(compare(op)?, node(&args[0])?, node(&args[1])?)
                    }
                    (op, None, 2) if arith(op).is_some() => {
                        Fast::Arith(arith(op)?, node(&args[0])?, node(&args[1])?)
                    }
                    (operators::IN, None, 2) => match &args[1].expr {
                        Expr::List(list) => Fast::In(
                            node(&args[0])?,
                            list.elements
                                .iter()
                                .map(|e| Fast::compile(e, variables))
                                .collect::<Option<_>>()?,
                        ),
                        _ => return None,
                    },
                    ("size", None, 1) => Fast::Size(node(&args[0])?),
                    ("size", Some(target), 0) => Fast::Size(node(target)?),
                    ("startsWith", Some(target), 1) => {
                        Fast::Matches(TextTest::StartsWith, node(target)?, node(&args[0])?)
                    }
                    ("endsWith", Some(target), 1) => {
                        Fast::Matches(TextTest::EndsWith, node(target)?, node(&args[0])?)
                    }
                    ("contains", Some(target), 1) => {
                        Fast::Matches(TextTest::Contains, node(target)?, node(&args[0])?)
                    }
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    /// The rule's verdict on a row whose variables are `values`, or None
    /// when the interpreter must decide.
    pub(crate) fn holds(&self, values: &[Typed<'_>]) -> Option<bool> {
        match self.eval(values)? {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn eval<'r>(&'r self, values: &[Typed<'r>]) -> Option<Value<'r>> {
        Some(match self {
            Fast::Int(v) => Value::Int(*v),
            Fast::Num(v) => Value::Num(*v),
            Fast::Bool(v) => Value::Bool(*v),
            Fast::Text(v) => Value::Text(v.as_str().into()),
            Fast::Var(slot) => match values.get(*slot)? {
                Typed::Int(v) => Value::Int(*v),
                Typed::Num(v) => Value::Num(*v),
                Typed::Bool(v) => Value::Bool(*v),
                Typed::Text(v) => Value::Text((*v).into()),
                Typed::Null => return None,
            },
            Fast::Not(e) => match e.eval(values)? {
                Value::Bool(b) => Value::Bool(!b),
                _ => return None,
            },
            Fast::Negate(e) => match e.eval(values)? {
                Value::Int(v) => Value::Int(v.checked_neg()?),
                Value::Num(v) => Value::Num(-v),
                _ => return None,
            },
            // CEL's logic absorbs errors: false && anything is false, true || anything is true.
            Fast::And(a, b) => match (a.eval(values), b.eval(values)) {
                (Some(Value::Bool(false)), _) | (_, Some(Value::Bool(false))) => Value::Bool(false),
                (Some(Value::Bool(true)), Some(Value::Bool(true))) => Value::Bool(true),
                _ => return None,
            },
            Fast::Or(a, b) => match (a.eval(values), b.eval(values)) {
                (Some(Value::Bool(true)), _) | (_, Some(Value::Bool(true))) => Value::Bool(true),
                (Some(Value::Bool(false)), Some(Value::Bool(false))) => Value::Bool(false),
                _ => return None,
            },
            Fast::Compare(op, a, b) => Value::Bool(compare_values(*op, &a.eval(values)?, &b.eval(values)?)?),
            Fast::Arith(op, a, b) => arithmetic(*op, a.eval(values)?, b.eval(values)?)?,
            Fast::In(item, list) => {
                let item = item.eval(values)?;
                let mut found = false;
                for element in list {
                    let element = element.eval(values)?;
                    if std::mem::discriminant(&element) != std::mem::discriminant(&item) {
                        return None;
                    }
                    found |= element == item;
                }
                Value::Bool(found)
            }
            Fast::Size(e) => match e.eval(values)? {
                Value::Text(t) => Value::Int(i64::try_from(t.chars().count()).ok()?),
                _ => return None,
            },
            Fast::Matches(test, target, arg) => match (target.eval(values)?, arg.eval(values)?) {
                (Value::Text(t), Value::Text(a)) => Value::Bool(match test {
                    TextTest::StartsWith => t.starts_with(a.as_ref()),
                    TextTest::EndsWith => t.ends_with(a.as_ref()),
                    TextTest::Contains => t.contains(a.as_ref()),
                }),
                _ => return None,
            },
        })
    }
}

fn compare(op: &str) -> Option<Compare> {
    Some(match op {
        operators::EQUALS => Compare::Eq,
        operators::NOT_EQUALS => Compare::Ne,
        operators::LESS => Compare::Lt,
        operators::LESS_EQUALS => Compare::Le,
        operators::GREATER => Compare::Gt,
        operators::GREATER_EQUALS => Compare::Ge,
        _ => return None,
    })
}

fn arith(op: &str) -> Option<Arith> {
    Some(match op {
        operators::ADD => Arith::Add,
        operators::SUBSTRACT => Arith::Sub,
        operators::MULTIPLY => Arith::Mul,
        operators::DIVIDE => Arith::Div,
        operators::MODULO => Arith::Rem,
        _ => return None,
    })
}

fn compare_values(op: Compare, a: &Value<'_>, b: &Value<'_>) -> Option<bool> {
    use std::cmp::Ordering;
    let ordering: Ordering = match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Num(x), Value::Num(y)) => x.partial_cmp(y)?,
        // Ordering across int and double is numeric; equality across them
        // is left to the interpreter.
        (Value::Int(x), Value::Num(y)) if !matches!(op, Compare::Eq | Compare::Ne) => {
            (*x as f64).partial_cmp(y)?
        }
        (Value::Num(x), Value::Int(y)) if !matches!(op, Compare::Eq | Compare::Ne) => {
            x.partial_cmp(&(*y as f64))?
        }
        (Value::Text(x), Value::Text(y)) => x.as_ref().cmp(y.as_ref()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => return None,
    };
    Some(match op {
        Compare::Eq => ordering == Ordering::Equal,
        Compare::Ne => ordering != Ordering::Equal,
        Compare::Lt => ordering == Ordering::Less,
        Compare::Le => ordering != Ordering::Greater,
        Compare::Gt => ordering == Ordering::Greater,
        Compare::Ge => ordering != Ordering::Less,
    })
}

fn arithmetic<'r>(op: Arith, a: Value<'r>, b: Value<'r>) -> Option<Value<'r>> {
    Some(match (a, b) {
        (Value::Int(x), Value::Int(y)) => Value::Int(match op {
            Arith::Add => x.checked_add(y)?,
            Arith::Sub => x.checked_sub(y)?,
            Arith::Mul => x.checked_mul(y)?,
            Arith::Div => x.checked_div(y)?,
            Arith::Rem => x.checked_rem(y)?,
        }),
        (Value::Num(x), Value::Num(y)) => {
            let v = match op {
                Arith::Add => x + y,
                Arith::Sub => x - y,
                Arith::Mul => x * y,
                Arith::Div if y != 0.0 => x / y,
                _ => return None,
            };
            if v.is_nan() {
                return None;
            }
            Value::Num(v)
        }
        (Value::Text(x), Value::Text(y)) if op == Arith::Add => Value::Text(format!("{x}{y}").into()),
        _ => return None,
    })
}
