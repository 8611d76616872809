"""The officers' workspace: server-rendered pages over the services' HTTP APIs."""
