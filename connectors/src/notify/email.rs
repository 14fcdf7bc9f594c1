//! E-mail over SMTP (lettre, rustls): plain text with the title as subject (non-ASCII subjects
//! are RFC 2047-encoded by lettre).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};

use super::{Delivery, Message, NotifyError, SmtpTarget};

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Implicit TLS (port 465).
    #[default]
    Tls,
    /// STARTTLS upgrade (port 587).
    Starttls,
    /// No encryption: only for a relay on the same machine or a test sink.
    None,
}

fn config(reason: impl Into<String>) -> NotifyError {
    NotifyError::Config {
        kind: "email",
        reason: reason.into(),
    }
}

/// One attempt to hand `msg` to the SMTP server.
pub(super) async fn send(t: &SmtpTarget, msg: &Message) -> Result<Delivery, NotifyError> {
    let mut b = lettre::Message::builder()
        .from(
            t.from
                .parse()
                .map_err(|e| config(format!("from {:?}: {e}", t.from)))?,
        )
        .subject(msg.title.clone());
    if t.to.is_empty() {
        return Err(config("no recipients (`to` is empty)"));
    }
    for to in &t.to {
        b = b.to(to.parse().map_err(|e| config(format!("to {to:?}: {e}")))?);
    }
    let mut body = msg.text.clone();
    if let Some(l) = &msg.link {
        body.push_str("\n\n");
        body.push_str(l);
    }
    let mail = b
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| config(format!("building the message: {e}")))?;
    let builder = match t.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&t.host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&t.host)
            .map_err(|e| config(format!("host {:?}: {e}", t.host)))?,
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&t.host)
            .map_err(|e| config(format!("host {:?}: {e}", t.host)))?,
    };
    let mut builder = builder.port(t.port).timeout(Some(Duration::from_secs(20)));
    if let (Some(u), Some(p)) = (&t.username, &t.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
    }
    let mailer = builder.build();
    Ok(match mailer.send(mail).await {
        Ok(r) => Delivery {
            ok: r.is_positive(),
            retryable: false,
            status: r.code().to_string().parse().ok(),
            code: None,
            response: format!("{} {}", r.code(), r.message().collect::<Vec<_>>().join(" ")),
        },
        Err(e) => Delivery {
            ok: false,
            // 5xx replies are final; 4xx replies and broken connections are worth another try.
            retryable: !e.is_permanent(),
            status: e.status().and_then(|c| c.to_string().parse().ok()),
            code: None,
            response: e.to_string(),
        },
    })
}
