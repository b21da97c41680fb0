// A reply's numbers for the line under it: tokens, tokens per second, time to first token.

function seconds(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Short parts such as "128 tokens", "42.1 tokens/s", "0.35 s to first token". */
export function statsParts(usage) {
  if (!usage) return [];
  const parts = [];
  if (usage.completion_tokens) parts.push(`${usage.completion_tokens.toLocaleString("en-US")} tokens`);
  if (usage.tokens_per_second) parts.push(`${usage.tokens_per_second.toFixed(1)} tokens/s`);
  if (usage.time_to_first_token_ms != null) {
    parts.push(`${seconds(usage.time_to_first_token_ms)} to first token`);
  }
  return parts;
}

/** The longer explanation shown on hover. */
export function statsTitle(usage) {
  if (!usage) return "";
  const lines = [];
  if (usage.prompt_tokens != null) lines.push(`Prompt: ${usage.prompt_tokens} tokens`);
  if (usage.completion_tokens != null) lines.push(`Reply: ${usage.completion_tokens} tokens`);
  if (usage.thinking_ms != null) lines.push(`Thinking: ${seconds(usage.thinking_ms)}`);
  if (usage.duration_ms != null) lines.push(`Total time: ${seconds(usage.duration_ms)}`);
  return lines.join("\n");
}
