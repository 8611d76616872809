"""The officers' workspace: server-rendered pages over the four services' HTTP APIs."""
