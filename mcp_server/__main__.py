from mcp_server.cli import app

app()
