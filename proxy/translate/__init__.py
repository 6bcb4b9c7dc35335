"""Translation between the three wire formats. OpenAI chat completions is the pivot: a client's
format is turned into chat for a chat upstream, and chat answers are turned back."""
