"""The review loop: context from git, a reviewer LLM, sessions in SQLite."""
