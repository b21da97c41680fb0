// A reply's numbers for the line under it: tokens, tokens per second, time to first token; and
// how the page writes a length of time.

/** How long something took, as people read it: "350 ms", "2.4 s", "1 min 15 s". */
export function duration(ms) {
  if (Math.round(ms) < 1000) return `${Math.max(1, Math.round(ms))} ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`; // below what rounds to a minute
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** Short parts such as "128 tokens", "42.1 tokens/s", "0.35 s to first token". */
export function statsParts(usage) {
  if (!usage) return [];
  const parts = [];
  if (usage.completion_tokens) parts.push(`${usage.completion_tokens.toLocaleString("en-US")} tokens`);
  if (usage.tokens_per_second) parts.push(`${usage.tokens_per_second.toFixed(1)} tokens/s`);
  if (usage.time_to_first_token_ms != null) {
    parts.push(`${duration(usage.time_to_first_token_ms)} to first token`);
  }
  return parts;
}

/** The longer explanation shown on hover. */
export function statsTitle(usage) {
  if (!usage) return "";
  const lines = [];
  if (usage.prompt_tokens != null) lines.push(`Prompt: ${usage.prompt_tokens} tokens`);
  if (usage.completion_tokens != null) lines.push(`Reply: ${usage.completion_tokens} tokens`);
  if (usage.thinking_ms != null) lines.push(`Thinking: ${duration(usage.thinking_ms)}`);
  if (usage.duration_ms != null) lines.push(`Total time: ${duration(usage.duration_ms)}`);
  return lines.join("\n");
}
