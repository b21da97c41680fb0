"""Who may call a served OpenChat and how much: callers (`clients`) and their limits
(`limits`). Keys and their storage live beside these; the Flask side is `server.access`."""
