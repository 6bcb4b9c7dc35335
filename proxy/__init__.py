"""The routing proxy side-car (OpenAI, Anthropic and Responses endpoints). Not built yet."""
