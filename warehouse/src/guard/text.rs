//! Limits checked on the SQL text before it is parsed into a tree.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// Most operators (`+`, `||`, `=`, `AND`, `LIKE`, `WHEN`…) in one statement. A long report
/// query has a few hundred; 2,000 chained ones overflowed the planner's stack.
pub const MAX_OPERATORS: usize = 1_000;
/// Deepest nesting of parentheses and brackets.
pub const MAX_NESTING: usize = 64;
/// Longest single literal, bytes: a literal is repeated on every row of a batch (8,192), so
/// a long one in a projection over a large table takes `8,192 ×` its size.
pub const MAX_LITERAL: usize = 8 * 1024;

/// Why SQL text is refused before planning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlLimitError {
    #[error("has {found} operators; at most {max} are allowed in one statement")]
    TooManyOperators { found: usize, max: usize },
    #[error("nests parentheses {found} deep; at most {max} are allowed")]
    TooDeep { found: usize, max: usize },
    #[error("has a literal of {found} bytes; at most {max} are allowed")]
    LongLiteral { found: usize, max: usize },
    #[error("does not parse: {0}")]
    Tokens(String),
}

/// Checks `sql` against [`MAX_OPERATORS`] and [`MAX_NESTING`] by its tokens (a flat scan,
/// constant stack, linear time).
pub fn check_sql(sql: &str) -> Result<(), SqlLimitError> {
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize()
        .map_err(|e| SqlLimitError::Tokens(e.to_string()))?;
    let (mut operators, mut depth, mut deepest) = (0usize, 0usize, 0usize);
    for t in &tokens {
        if let Token::SingleQuotedString(v)
        | Token::DoubleQuotedString(v)
        | Token::EscapedStringLiteral(v)
        | Token::NationalStringLiteral(v)
        | Token::HexStringLiteral(v)
        | Token::Number(v, _) = t
            && v.len() > MAX_LITERAL
        {
            return Err(SqlLimitError::LongLiteral {
                found: v.len(),
                max: MAX_LITERAL,
            });
        }
        match t {
            Token::LParen | Token::LBracket | Token::LBrace => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            Token::RParen | Token::RBracket | Token::RBrace => depth = depth.saturating_sub(1),
            Token::Word(w)
                if w.quote_style.is_none()
                    && matches!(
                        w.keyword,
                        Keyword::AND
                            | Keyword::OR
                            | Keyword::NOT
                            | Keyword::LIKE
                            | Keyword::ILIKE
                            | Keyword::SIMILAR
                            | Keyword::BETWEEN
                            | Keyword::IS
                            | Keyword::IN
                            | Keyword::WHEN
                            | Keyword::UNION
                            | Keyword::INTERSECT
                            | Keyword::EXCEPT
                    ) =>
            {
                operators += 1;
            }
            Token::DoubleEq
            | Token::Eq
            | Token::Neq
            | Token::Lt
            | Token::Gt
            | Token::LtEq
            | Token::GtEq
            | Token::Spaceship
            | Token::Plus
            | Token::Minus
            | Token::Mul
            | Token::Div
            | Token::DuckIntDiv
            | Token::Mod
            | Token::StringConcat
            | Token::Ampersand
            | Token::Pipe
            | Token::Caret
            | Token::ShiftLeft
            | Token::ShiftRight
            | Token::Tilde
            | Token::TildeAsterisk
            | Token::ExclamationMarkTilde
            | Token::ExclamationMarkTildeAsterisk
            | Token::DoubleTilde
            | Token::DoubleTildeAsterisk
            | Token::ExclamationMarkDoubleTilde
            | Token::ExclamationMarkDoubleTildeAsterisk
            | Token::DoubleColon
            | Token::Arrow
            | Token::LongArrow
            | Token::AtArrow
            | Token::ArrowAt
            | Token::CustomBinaryOperator(_) => operators += 1,
            _ => {}
        }
    }
    if deepest > MAX_NESTING {
        return Err(SqlLimitError::TooDeep {
            found: deepest,
            max: MAX_NESTING,
        });
    }
    if operators > MAX_OPERATORS {
        return Err(SqlLimitError::TooManyOperators {
            found: operators,
            max: MAX_OPERATORS,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(op: &str, n: usize) -> String {
        format!("SELECT {}", vec!["1"; n].join(op))
    }

    #[test]
    fn long_chains_and_deep_nesting_are_refused_by_their_tokens() {
        for op in [" + ", " || ", " AND ", " OR ", " = ", " - ", " * "] {
            assert!(check_sql(&chain(op, 200)).is_ok(), "{op}");
            assert!(
                matches!(
                    check_sql(&chain(op, 2_000)),
                    Err(SqlLimitError::TooManyOperators { found: 1_999, .. })
                ),
                "{op}"
            );
        }
        let likes = format!(
            "SELECT * FROM orders WHERE {}",
            vec!["order_id LIKE 'a%'"; 2_000].join(" OR ")
        );
        assert!(check_sql(&likes).is_err());
        let deep = format!("SELECT {}1{}", "(".repeat(65), ")".repeat(65));
        assert_eq!(
            check_sql(&deep),
            Err(SqlLimitError::TooDeep { found: 65, max: 64 })
        );
        assert!(check_sql(&format!("SELECT {}1{}", "(".repeat(64), ")".repeat(64))).is_ok());
    }

    #[test]
    fn long_literals_are_refused() {
        let long = format!("SELECT '{}' FROM orders", "x".repeat(MAX_LITERAL + 1));
        assert!(matches!(
            check_sql(&long),
            Err(SqlLimitError::LongLiteral { .. })
        ));
        assert!(check_sql(&format!("SELECT '{}'", "x".repeat(MAX_LITERAL))).is_ok());
    }

    #[test]
    fn operators_inside_strings_and_quoted_names_do_not_count() {
        let text = format!("SELECT '{}' AS \"and\"", "+".repeat(5_000));
        assert!(check_sql(&text).is_ok());
        let lists = format!(
            "SELECT * FROM orders WHERE order_id IN ({})",
            vec!["'x'"; 5_000].join(", ")
        );
        assert!(
            check_sql(&lists).is_ok(),
            "a long IN list is wide, not deep"
        );
    }
}
