"""OpenAI's Chat Completions API in front of every provider: a request body read into the
app's own request, and the provider's events written back as completions and chunks."""
