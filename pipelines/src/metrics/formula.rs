//! Derived-metric formulas: `+ - * /`, parentheses, decimal numbers, metric names and
//! `share(expr)`, parsed into a small tree the compiler renders as SQL.
//!
//! Only these tokens are accepted, so a formula can never smuggle other SQL into a query.

/// A parsed formula.
#[derive(Debug, Clone, PartialEq)]
pub enum Formula {
    /// A decimal number, e.g. `100` or `0.5`.
    Num(String),
    /// Another metric's value for the same group.
    Metric(String),
    Neg(Box<Formula>),
    Bin(char, Box<Formula>, Box<Formula>),
    /// The group's part of the total over all groups of the same period.
    Share(Box<Formula>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(String),
    Ident(String),
    Op(char),
}

fn tokens(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if "+-*/()".contains(c) {
            out.push(Tok::Op(c));
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.') {
                i += 1;
            }
            let n: String = cs[start..i].iter().collect();
            if n.matches('.').count() > 1 || n.ends_with('.') {
                return Err(format!("bad number `{n}`"));
            }
            out.push(Tok::Num(n));
        } else if c.is_ascii_lowercase() || c == '_' {
            let start = i;
            while i < cs.len()
                && (cs[i].is_ascii_lowercase() || cs[i].is_ascii_digit() || cs[i] == '_')
            {
                i += 1;
            }
            out.push(Tok::Ident(cs[start..i].iter().collect()));
        } else {
            return Err(format!("unexpected character `{c}`"));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expr(&mut self) -> Result<Formula, String> {
        let mut left = self.term()?;
        while let Some(Tok::Op(op @ ('+' | '-'))) = self.peek().cloned() {
            self.pos += 1;
            left = Formula::Bin(op, Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Formula, String> {
        let mut left = self.factor()?;
        while let Some(Tok::Op(op @ ('*' | '/'))) = self.peek().cloned() {
            self.pos += 1;
            left = Formula::Bin(op, Box::new(left), Box::new(self.factor()?));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Formula, String> {
        match self.next() {
            Some(Tok::Num(n)) => Ok(Formula::Num(n)),
            Some(Tok::Op('-')) => Ok(Formula::Neg(Box::new(self.factor()?))),
            Some(Tok::Op('(')) => {
                let e = self.expr()?;
                self.close()?;
                Ok(e)
            }
            Some(Tok::Ident(f)) if f == "share" && self.peek() == Some(&Tok::Op('(')) => {
                self.pos += 1;
                let e = self.expr()?;
                self.close()?;
                Ok(Formula::Share(Box::new(e)))
            }
            Some(Tok::Ident(name)) => Ok(Formula::Metric(name)),
            Some(Tok::Op(c)) => Err(format!("unexpected `{c}`")),
            None => Err("unexpected end".into()),
        }
    }

    fn close(&mut self) -> Result<(), String> {
        match self.next() {
            Some(Tok::Op(')')) => Ok(()),
            _ => Err("missing `)`".into()),
        }
    }
}

impl Formula {
    /// Parses a formula; the error says what is wrong with it.
    pub fn parse(s: &str) -> Result<Formula, String> {
        let mut p = Parser {
            toks: tokens(s)?,
            pos: 0,
        };
        let f = p.expr()?;
        if p.pos < p.toks.len() {
            return Err(format!("unexpected text after position {}", p.pos));
        }
        Ok(f)
    }

    /// The metric names the formula refers to, in order of first use.
    pub fn metrics(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(&mut |name| {
            if !out.iter().any(|n: &String| n == name) {
                out.push(name.to_string());
            }
        });
        out
    }

    fn walk(&self, f: &mut dyn FnMut(&str)) {
        match self {
            Formula::Num(_) => {}
            Formula::Metric(m) => f(m),
            Formula::Neg(e) | Formula::Share(e) => e.walk(f),
            Formula::Bin(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
        }
    }

    /// Whether the formula divides (its value is then a decimal with more places).
    pub fn divides(&self) -> bool {
        match self {
            Formula::Num(_) | Formula::Metric(_) => false,
            Formula::Share(_) => true,
            Formula::Neg(e) => e.divides(),
            Formula::Bin(op, a, b) => *op == '/' || a.divides() || b.divides(),
        }
    }

    /// Replaces each metric reference by `f(name)` (used to expand derived components).
    pub fn substitute(&self, f: &dyn Fn(&str) -> Option<Formula>) -> Formula {
        match self {
            Formula::Num(_) => self.clone(),
            Formula::Metric(m) => f(m).unwrap_or_else(|| self.clone()),
            Formula::Neg(e) => Formula::Neg(Box::new(e.substitute(f))),
            Formula::Share(e) => Formula::Share(Box::new(e.substitute(f))),
            Formula::Bin(op, a, b) => {
                Formula::Bin(*op, Box::new(a.substitute(f)), Box::new(b.substitute(f)))
            }
        }
    }

    /// Renders SQL: `value(name)` gives a metric's SQL value, `partition` the window of a
    /// period (for `share`). Division is exact decimal arithmetic and NULL for a zero divisor.
    pub fn sql(&self, value: &dyn Fn(&str) -> String, partition: &str) -> String {
        match self {
            Formula::Num(n) => n.clone(),
            Formula::Metric(m) => value(m),
            Formula::Neg(e) => format!("(-{})", e.sql(value, partition)),
            Formula::Bin('/', a, b) => ratio(&a.sql(value, partition), &b.sql(value, partition)),
            Formula::Bin(op, a, b) => format!(
                "({} {op} {})",
                a.sql(value, partition),
                b.sql(value, partition)
            ),
            Formula::Share(e) => {
                let v = e.sql(value, partition);
                ratio(&v, &format!("sum({v}) OVER ({partition})"))
            }
        }
    }
}

/// `a / b` as a decimal (14 places, truncated: rounding it once more to fewer places is then
/// the exact half-up rounding of the quotient), NULL when `b` is 0.
fn ratio(a: &str, b: &str) -> String {
    format!("(CAST({a} AS DECIMAL(38,10)) / NULLIF(CAST({b} AS DECIMAL(38,10)), 0))")
}
