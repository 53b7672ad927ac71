//! Token counts for a chat request and its reply, with the gpt-4o family's tokenizer
//! (`o200k_base`, from tiktoken-rs), for a provider that answers without a `usage` block.
//!
//! The count follows OpenAI's published recipe for chat models: each message costs its role's
//! and its content's tokens plus 3, and the reply is primed with 3 more. A strict JSON schema
//! also reaches the model as prompt text, in a form OpenAI does not publish: its JSON is counted
//! as it is sent. So a local count is close to, not equal to, what the provider bills, and
//! postcall marks it as counted locally wherever it reports it.

use serde_json::Value;

/// Tokens each chat message adds beyond its role and content (gpt-4o family).
const PER_MESSAGE: usize = 3;
/// Tokens that prime the assistant's reply.
const REPLY_PRIMING: usize = 3;

/// Tokens of `text` under `o200k_base`. The tokenizer's tables (about 200 000 ranks) are
/// loaded on first use, once per container; a provider that reports `usage` never pays it.
pub fn text_tokens(text: &str) -> usize {
    tiktoken_rs::o200k_base_singleton().count_ordinary(text)
}

/// Prompt tokens of a chat-completions request body: its messages (string or text-part
/// content) and its response format's schema.
pub fn request_tokens(body: &Value) -> usize {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map_or(0, |messages| {
            messages
                .iter()
                .map(|m| {
                    let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
                    let content = match m.get("content") {
                        Some(Value::String(text)) => text_tokens(text),
                        Some(Value::Array(parts)) => parts
                            .iter()
                            .filter_map(|p| p.get("text").and_then(Value::as_str))
                            .map(text_tokens)
                            .sum(),
                        _ => 0,
                    };
                    PER_MESSAGE + text_tokens(role) + content
                })
                .sum()
        });
    let schema = body
        .get("response_format")
        .and_then(|f| f.get("json_schema"))
        .map_or(0, |schema| text_tokens(&schema.to_string()));
    messages + schema + REPLY_PRIMING
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_match_the_o200k_base_tokenizer() {
        // Reference counts from OpenAI's tiktoken (o200k_base).
        assert_eq!(text_tokens("hello world"), 2);
        assert_eq!(text_tokens(""), 0);
        // Spoken-form ASR text tokenises into more pieces than its written form.
        assert!(
            text_tokens("dana dot whitfield at gmail dot com")
                > text_tokens("dana.whitfield@gmail.com")
        );
    }

    #[test]
    fn a_request_counts_each_message_its_overhead_and_the_schema() {
        let bare = json!({"messages": [{"role": "user", "content": "hello world"}]});
        // 3 per message + "user" (1) + "hello world" (2) + 3 to prime the reply.
        assert_eq!(request_tokens(&bare), 3 + 1 + 2 + 3);
        let parts = json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "hello world"}]}]});
        assert_eq!(request_tokens(&parts), request_tokens(&bare));
        let with_schema = json!({
            "messages": [{"role": "user", "content": "hello world"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
        });
        assert!(request_tokens(&with_schema) > request_tokens(&bare));
    }
}
