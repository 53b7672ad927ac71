//! [`CallCompleted`]: the `call.completed` message a voice bridge publishes.

use chrono::{DateTime, Utc};

use super::{CallId, CallIdError};

/// `{"callId": "...", "endedAt": "..."}`.
#[derive(Debug, Clone, PartialEq)]
pub struct CallCompleted {
    /// The call that ended.
    pub call_id: CallId,
    /// When it ended, if the bridge said so.
    pub ended_at: Option<DateTime<Utc>>,
}

/// Why a message body is not a `call.completed` event. Every variant is permanent: the same
/// body can never parse on a retry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallCompletedError {
    /// Not JSON, or not an object.
    #[error("body is not a JSON object: {0}")]
    NotJson(String),
    /// No `callId` field (or it is not a string or number).
    #[error("body has no callId")]
    MissingCallId,
    /// `callId` is present but invalid.
    #[error("invalid callId: {0}")]
    InvalidCallId(#[from] CallIdError),
}

/// Largest body we parse, in bytes. SQS allows 256 KiB; a real `call.completed` is < 200 bytes.
pub const CALL_COMPLETED_MAX_BYTES: usize = 16 * 1024;

impl CallCompleted {
    /// Parses a message body. Accepts `callId` (or `call_id`) as a string or an integer, an
    /// optional RFC 3339 `endedAt` (an unparseable one is ignored: the database's `endedAt`
    /// is the truth), unknown extra fields, and an SNS envelope (`{"Type":"Notification",
    /// "Message":"..."}`) around the event, which is what an SNS→SQS subscription without raw
    /// delivery produces.
    ///
    /// # Errors
    /// [`CallCompletedError`] when the body is not such an event.
    pub fn parse(body: &str) -> Result<Self, CallCompletedError> {
        if body.len() > CALL_COMPLETED_MAX_BYTES {
            return Err(CallCompletedError::NotJson(format!(
                "body is {} bytes",
                body.len()
            )));
        }
        let value: serde_json::Value =
            serde_json::from_str(body).map_err(|e| CallCompletedError::NotJson(e.to_string()))?;
        let value = match unwrap_sns_envelope(&value) {
            Some(inner) => inner,
            None => value,
        };
        let object = value
            .as_object()
            .ok_or_else(|| CallCompletedError::NotJson("body is not an object".into()))?;
        let raw_id = match object.get("callId").or_else(|| object.get("call_id")) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => return Err(CallCompletedError::MissingCallId),
        };
        let call_id = CallId::parse(&raw_id)?;
        let ended_at = object
            .get("endedAt")
            .or_else(|| object.get("ended_at"))
            .and_then(serde_json::Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc));
        Ok(Self { call_id, ended_at })
    }

    /// The body the voice bridge would send for this event.
    pub fn to_body(&self) -> String {
        let mut body = serde_json::json!({ "callId": self.call_id.as_str() });
        if let Some(ended_at) = self.ended_at {
            body["endedAt"] = serde_json::Value::String(
                ended_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            );
        }
        body.to_string()
    }
}

fn unwrap_sns_envelope(value: &serde_json::Value) -> Option<serde_json::Value> {
    let object = value.as_object()?;
    if object.get("Type")?.as_str()? != "Notification" {
        return None;
    }
    serde_json::from_str(object.get("Message")?.as_str()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_bridge_event() {
        let e = CallCompleted::parse(r#"{"callId":"c-1","endedAt":"2026-11-25T10:00:00.000Z"}"#)
            .unwrap();
        assert_eq!(e.call_id.as_str(), "c-1");
        assert_eq!(
            e.ended_at.unwrap().to_rfc3339(),
            "2026-11-25T10:00:00+00:00"
        );
    }

    #[test]
    fn accepts_numeric_ids_snake_case_and_extra_fields() {
        let e =
            CallCompleted::parse(r#"{"call_id": 42, "endedAt": "yesterday", "x": [1]}"#).unwrap();
        assert_eq!(e.call_id.as_str(), "42");
        assert_eq!(e.ended_at, None);
    }

    #[test]
    fn unwraps_an_sns_envelope() {
        let body = serde_json::json!({"Type": "Notification", "Message": "{\"callId\":\"c-9\"}"})
            .to_string();
        assert_eq!(CallCompleted::parse(&body).unwrap().call_id.as_str(), "c-9");
    }

    #[test]
    fn rejects_what_is_not_an_event() {
        assert!(matches!(
            CallCompleted::parse("not json"),
            Err(CallCompletedError::NotJson(_))
        ));
        assert!(matches!(
            CallCompleted::parse("[1]"),
            Err(CallCompletedError::NotJson(_))
        ));
        assert_eq!(
            CallCompleted::parse(r#"{"id":"x"}"#),
            Err(CallCompletedError::MissingCallId)
        );
        assert_eq!(
            CallCompleted::parse(r#"{"callId":null}"#),
            Err(CallCompletedError::MissingCallId)
        );
        assert!(matches!(
            CallCompleted::parse(r#"{"callId":"  "}"#),
            Err(CallCompletedError::InvalidCallId(_))
        ));
    }

    #[test]
    fn round_trips_through_to_body() {
        let e = CallCompleted::parse(r#"{"callId":"c-1","endedAt":"2026-11-25T10:00:00.000Z"}"#)
            .unwrap();
        assert_eq!(CallCompleted::parse(&e.to_body()).unwrap(), e);
    }
}
