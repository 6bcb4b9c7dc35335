"""Chat bridges: Discord and Signal conversations drive a coding agent through brainrouter."""
